package dev.evomerge.worker.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The JDK's {@code Map.of} maps have no no-arg constructor; write entries, read a map. */
final class ImmutableMapSerializer extends Serializer<Map<?, ?>> {
  ImmutableMapSerializer() {
    setImmutable(true);
  }

  @Override
  public void write(Kryo kryo, Output output, Map<?, ?> map) {
    output.writeInt(map.size(), true);
    for (Map.Entry<?, ?> e : map.entrySet()) {
      kryo.writeClassAndObject(output, e.getKey());
      kryo.writeClassAndObject(output, e.getValue());
    }
  }

  @Override
  public Map<?, ?> read(Kryo kryo, Input input, Class<Map<?, ?>> type) {
    int n = input.readInt(true);
    Map<Object, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      out.put(kryo.readClassAndObject(input), kryo.readClassAndObject(input));
    }
    return Collections.unmodifiableMap(out);
  }
}
