package dev.evomerge.worker.io;

/**
 * Tensor values to be written, readable in element ranges so that tensors larger than a Java array
 * can be streamed from a source checkpoint (or computed) without being held in memory.
 */
public interface TensorSource {
  /** Dimensions, outermost first. */
  long[] shape();

  /** Copies elements {@code [first, first + count)} (row-major) into {@code dst[offset..]}. */
  void read(long first, float[] dst, int offset, int count);

  default long numel() {
    return FloatTensor.numel(shape());
  }

  /** A heap tensor. */
  static TensorSource of(FloatTensor t) {
    return new TensorSource() {
      @Override
      public long[] shape() {
        return t.shape();
      }

      @Override
      public void read(long first, float[] dst, int offset, int count) {
        System.arraycopy(t.data(), Math.toIntExact(first), dst, offset, count);
      }
    };
  }

  /** A tensor of a safetensors file, widened to F32 as it is read. */
  static TensorSource of(SafetensorsFile file, String name) {
    long[] shape = file.info(name).shape();
    return new TensorSource() {
      @Override
      public long[] shape() {
        return shape;
      }

      @Override
      public void read(long first, float[] dst, int offset, int count) {
        file.readFloat(name, first, dst, offset, count);
      }
    };
  }
}
