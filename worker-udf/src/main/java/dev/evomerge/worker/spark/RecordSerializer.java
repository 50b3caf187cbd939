package dev.evomerge.worker.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;

/**
 * Kryo 4 (Spark's) cannot serialise records with its field serializer ("can't get field offset on a
 * record class"): this one writes the components through their accessors and reads them back
 * through the canonical constructor, so records keep their validation on the executor.
 */
final class RecordSerializer<T extends Record> extends Serializer<T> {
  private final RecordComponent[] components;
  private final Constructor<T> constructor;

  RecordSerializer(Class<T> type) {
    this.components = type.getRecordComponents();
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      types[i] = components[i].getType();
    }
    try {
      this.constructor = type.getDeclaredConstructor(types);
      this.constructor.setAccessible(true);
    } catch (NoSuchMethodException e) {
      throw new IllegalArgumentException("No canonical constructor on record " + type, e);
    }
    setImmutable(true);
  }

  @Override
  public void write(Kryo kryo, Output output, T record) {
    for (RecordComponent c : components) {
      try {
        kryo.writeClassAndObject(output, c.getAccessor().invoke(record));
      } catch (IllegalAccessException | InvocationTargetException e) {
        throw new IllegalStateException(
            "Cannot read component " + c.getName() + " of " + record, e);
      }
    }
  }

  @Override
  public T read(Kryo kryo, Input input, Class<T> type) {
    Object[] values = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      values[i] = kryo.readClassAndObject(input);
    }
    try {
      return constructor.newInstance(values);
    } catch (InstantiationException | IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("Cannot construct record " + type.getName(), e);
    }
  }
}
