package dev.evomerge.worker.merge;

import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;

/**
 * Per-tensor seeds: a pure function of the recipe seed and the tensor name, so any thread agrees.
 */
public final class Seeds {
  private Seeds() {}

  public static long forTensor(long recipeSeed, String tensorName) {
    return Hashing.murmur3_128((int) recipeSeed ^ (int) (recipeSeed >>> 32))
        .newHasher()
        .putLong(recipeSeed)
        .putString(tensorName, StandardCharsets.UTF_8)
        .hash()
        .asLong();
  }
}
