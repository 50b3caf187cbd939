package dev.evomerge.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Arrays;

/**
 * Keys and values of the tokens a {@link LlamaModel} has already seen, per layer, for incremental
 * decoding. Also keeps, on the Java heap, which of those tokens are padding and how many real
 * tokens each row has seen, so the next tokens get the right positions and mask.
 *
 * <p>Owns its NDArrays: they are taken out of the caller's {@code NDScope} so that a decoding loop
 * can close a scope per step and keep the cache; close the cache when decoding is done. Not
 * thread-safe.
 */
public final class KvCache implements AutoCloseable {
  final NDArray[] keys;
  final NDArray[] values;
  final int batch;
  final int[] realTokens;
  float[][] keyMask;
  int length;

  KvCache(int layers, int batch) {
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
    this.batch = batch;
    this.realTokens = new int[batch];
    this.keyMask = new float[batch][16];
  }

  /** Number of cached positions (padding included). */
  public int length() {
    return length;
  }

  void checkSlots(int layers) {
    if (keys.length != layers) {
      throw new IllegalArgumentException(
          String.format("KV cache has %d layer slots, the model has %d", keys.length, layers));
    }
  }

  void append(float[][] newMask, int t) {
    if (length + t > keyMask[0].length) {
      int cap = Math.max(2 * keyMask[0].length, length + t);
      for (int b = 0; b < batch; b++) {
        keyMask[b] = Arrays.copyOf(keyMask[b], cap);
      }
    }
    for (int b = 0; b < batch; b++) {
      System.arraycopy(newMask[b], 0, keyMask[b], length, t);
      for (int i = 0; i < t; i++) {
        realTokens[b] += newMask[b][i] > 0 ? 1 : 0;
      }
    }
    length += t;
  }

  void replace(int layer, NDArray k, NDArray v) {
    NDScope.unregister(k, v);
    if (keys[layer] != null) {
      keys[layer].close();
      values[layer].close();
    }
    keys[layer] = k;
    values[layer] = v;
  }

  @Override
  public void close() {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null) {
        keys[i].close();
        values[i].close();
        keys[i] = null;
        values[i] = null;
      }
    }
  }
}
