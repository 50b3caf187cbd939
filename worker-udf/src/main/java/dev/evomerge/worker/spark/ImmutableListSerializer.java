package dev.evomerge.worker.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The JDK's {@code List.of} lists have no no-arg constructor; write elements, read a list. */
final class ImmutableListSerializer extends Serializer<List<?>> {
  ImmutableListSerializer() {
    setImmutable(true);
  }

  @Override
  public void write(Kryo kryo, Output output, List<?> list) {
    output.writeInt(list.size(), true);
    for (Object o : list) {
      kryo.writeClassAndObject(output, o);
    }
  }

  @Override
  public List<?> read(Kryo kryo, Input input, Class<List<?>> type) {
    int n = input.readInt(true);
    List<Object> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(kryo.readClassAndObject(input));
    }
    return Collections.unmodifiableList(out);
  }
}
