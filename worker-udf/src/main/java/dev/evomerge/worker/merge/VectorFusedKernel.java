package dev.evomerge.worker.merge;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FusedKernel} with the JDK 17 incubating Vector API, lane for lane the scalar kernel's
 * operations: per lane group, each task vector is loaded once, masked (magnitude band by compares,
 * random bits expanded to lane masks by a variable shift), weighted and added to the positive or
 * negative side with its weight; the sign election, divisor and base are one blend, one divide and
 * one add. Loaded reflectively by {@link FusedKernel#best()} only when the module is present.
 */
final class VectorFusedKernel implements FusedKernel {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> I = F.withLanes(int.class);
  private static final int L = F.length();
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  private static final IntVector LANES = IntVector.zero(I).addIndex(1);

  private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
  private static final int LL = LS.length();

  /** Lane k: {@code (k + 1) * gamma}, the offsets of the next LL seeds. */
  private static final LongVector GAMMAS =
      LongVector.zero(LS).addIndex(1).add(1).mul(Ops.SplitMix.GAMMA);

  /** Lane k: {@code 2 k}, where a draw's two bits go within a group of LL draws. */
  private static final LongVector PAIR_SHIFTS = LongVector.zero(LS).addIndex(2);

  /** Elements per float partial sum of the L1 pass before it is added to a double. */
  private static final int L1_BLOCK = 4096;

  VectorFusedKernel() {
    if (64 % L != 0 || 32 % LL != 0) {
      throw new IllegalStateException("Lane count does not divide 64: " + L);
    }
  }

  @Override
  public void combine(
      FusedKernel.Plan p,
      ByteBuffer[] rows,
      ByteBuffer base,
      ByteBuffer out,
      int cols,
      long[][] bits,
      long bitFrom) {
    int end = cols - cols % L;
    // one loop per mask kind: each is compiled on its own profile
    if (p.consensus() && bits == null) {
      consensusBand(p, rows, base, out, end, bits, bitFrom);
    } else if (p.consensus()) {
      consensusBits(p, rows, base, out, end, bits, bitFrom);
    } else {
      weighted(p, rows, base, out, end, bits, bitFrom);
    }
    FusedKernel.Scalar.range(p, rows, base, out, end, cols, bits, bitFrom);
  }

  private static void consensusBand(
      FusedKernel.Plan p,
      ByteBuffer[] rows,
      ByteBuffer base,
      ByteBuffer out,
      int end,
      long[][] bits,
      long bitFrom) {
    int n = p.count();
    FloatVector zero = FloatVector.zero(F);
    FloatVector one = FloatVector.broadcast(F, 1f);
    boolean normalize = p.normalize();
    float lambda = p.lambda();
    for (int j = 0; j < end; j += L) {
      FloatVector pos = zero;
      FloatVector neg = zero;
      FloatVector wPos = zero;
      FloatVector wNeg = zero;
      for (int i = 0; i < n; i++) {
        FloatVector e = band(p, i, rows[i], j).mul(p.ew()[i]);
        // the sign bit splits e into its positive and negative parts (zeros add a zero)
        IntVector bitsE = e.reinterpretAsInts();
        IntVector sign = bitsE.lanewise(VectorOperators.ASHR, 31);
        pos = pos.add(bitsE.lanewise(VectorOperators.AND_NOT, sign).reinterpretAsFloats());
        neg = neg.add(bitsE.and(sign).reinterpretAsFloats());
        if (normalize) {
          // all ones where e is not a zero of either sign
          IntVector nonZero = bitsE.and(0x7fffffff).neg().lanewise(VectorOperators.ASHR, 31);
          IntVector w = IntVector.broadcast(I, Float.floatToRawIntBits(p.w()[i])).and(nonZero);
          wPos = wPos.add(w.lanewise(VectorOperators.AND_NOT, sign).reinterpretAsFloats());
          wNeg = wNeg.add(w.and(sign).reinterpretAsFloats());
        }
      }
      elect(pos, neg, wPos, wNeg, normalize, lambda, one, base, out, j);
    }
  }

  private static void consensusBits(
      FusedKernel.Plan p,
      ByteBuffer[] rows,
      ByteBuffer base,
      ByteBuffer out,
      int end,
      long[][] bits,
      long bitFrom) {
    int n = p.count();
    FloatVector zero = FloatVector.zero(F);
    FloatVector one = FloatVector.broadcast(F, 1f);
    boolean normalize = p.normalize();
    float lambda = p.lambda();
    for (int j = 0; j < end; j += L) {
      FloatVector pos = zero;
      FloatVector neg = zero;
      FloatVector wPos = zero;
      FloatVector wNeg = zero;
      for (int i = 0; i < n; i++) {
        FloatVector e = bits(rows[i], j, bits[i], bitFrom).mul(p.ew()[i]);
        // the sign bit splits e into its positive and negative parts (zeros add a zero)
        IntVector bitsE = e.reinterpretAsInts();
        IntVector sign = bitsE.lanewise(VectorOperators.ASHR, 31);
        pos = pos.add(bitsE.lanewise(VectorOperators.AND_NOT, sign).reinterpretAsFloats());
        neg = neg.add(bitsE.and(sign).reinterpretAsFloats());
        if (normalize) {
          // all ones where e is not a zero of either sign
          IntVector nonZero = bitsE.and(0x7fffffff).neg().lanewise(VectorOperators.ASHR, 31);
          IntVector w = IntVector.broadcast(I, Float.floatToRawIntBits(p.w()[i])).and(nonZero);
          wPos = wPos.add(w.lanewise(VectorOperators.AND_NOT, sign).reinterpretAsFloats());
          wNeg = wNeg.add(w.and(sign).reinterpretAsFloats());
        }
      }
      elect(pos, neg, wPos, wNeg, normalize, lambda, one, base, out, j);
    }
  }

  /**
   * The elected sign's sum (its weights' mean when normalizing), times lambda, plus the base, into
   * {@code out} at column {@code j}: the tail both consensus loops share.
   */
  private static void elect(
      FloatVector pos,
      FloatVector neg,
      FloatVector wPos,
      FloatVector wNeg,
      boolean normalize,
      float lambda,
      FloatVector one,
      ByteBuffer base,
      ByteBuffer out,
      int j) {
    VectorMask<Float> minus = pos.add(neg).compare(VectorOperators.LT, 0f);
    FloatVector merged = pos.blend(neg, minus);
    if (normalize) {
      FloatVector divisor = wPos.blend(wNeg, minus);
      merged = merged.div(divisor.blend(one, divisor.compare(VectorOperators.EQ, 0f)));
    }
    if (lambda != 1) {
      merged = merged.mul(lambda);
    }
    merged.add(FloatVector.fromByteBuffer(F, base, 4 * j, ORDER)).intoByteBuffer(out, 4 * j, ORDER);
  }

  private static void weighted(
      FusedKernel.Plan p,
      ByteBuffer[] rows,
      ByteBuffer base,
      ByteBuffer out,
      int end,
      long[][] bits,
      long bitFrom) {
    int n = p.count();
    for (int j = 0; j < end; j += L) {
      FloatVector sum = FloatVector.zero(F);
      for (int i = 0; i < n; i++) {
        sum = sum.add(kept(p, i, rows[i], j, bits, bitFrom).mul(p.sumW()[i]));
      }
      sum.add(FloatVector.fromByteBuffer(F, base, 4 * j, ORDER)).intoByteBuffer(out, 4 * j, ORDER);
    }
  }

  /** Lanes {@code [j, j + L)} of row i where kept, +0 elsewhere. */
  private static FloatVector kept(
      FusedKernel.Plan p, int i, ByteBuffer row, int j, long[][] bits, long bitFrom) {
    return bits != null ? bits(row, j, bits[i], bitFrom) : band(p, i, row, j);
  }

  /** Lanes where the random bit is set: the bits widened to all-ones lanes, and'ed with d. */
  private static FloatVector bits(ByteBuffer row, int j, long[] bits, long bitFrom) {
    FloatVector d = FloatVector.fromByteBuffer(F, row, 4 * j, ORDER);
    long at = bitFrom + j;
    int word = (int) (bits[(int) (at >>> 6)] >>> (at & 63));
    IntVector keep =
        IntVector.broadcast(I, word).lanewise(VectorOperators.LSHR, LANES).and(1).neg();
    return d.reinterpretAsInts().and(keep).reinterpretAsFloats();
  }

  /**
   * Lanes whose magnitude lies in the row's band, compared as integers ({@link
   * FusedKernel#magnitudeBits}): the sign of {@code |d| - lo} is the drop mask, of {@code |d| - hi}
   * the keep mask.
   */
  private static FloatVector band(FusedKernel.Plan p, int i, ByteBuffer row, int j) {
    IntVector d = FloatVector.fromByteBuffer(F, row, 4 * j, ORDER).reinterpretAsInts();
    IntVector a = d.and(0x7fffffff);
    IntVector drop = a.sub(FusedKernel.magnitudeBits(p.lo()[i])).lanewise(VectorOperators.ASHR, 31);
    IntVector kept = d.lanewise(VectorOperators.AND_NOT, drop);
    if (p.band()) {
      IntVector below =
          a.sub(FusedKernel.magnitudeBits(p.hi()[i])).lanewise(VectorOperators.ASHR, 31);
      kept = kept.and(below);
    }
    return kept.reinterpretAsFloats();
  }

  /**
   * Whole words of 32 draws as {@code 32 / LL} vectors of LL consecutive seeds ({@code seed + (k +
   * 1) gamma}), mixed lane-wise as {@link Ops.SplitMix#mix64}; the stream's seed is then advanced
   * past them, and the ragged end is drawn by the scalar kernel.
   */
  @Override
  public void keepBits(Ops.SplitMix rnd, int threshold, int cols, long[] bits, int firstWord) {
    int words = cols / 64;
    LongVector seeds = GAMMAS.add(rnd.seed);
    LongVector step = LongVector.broadcast(LS, Ops.SplitMix.GAMMA * LL);
    for (int w = 0; w < words; w++) {
      LongVector acc = LongVector.zero(LS);
      for (int g = 0; g < 32 / LL; g++) {
        LongVector x = mix64(seeds);
        seeds = seeds.add(step);
        LongVector b0 = x.lanewise(VectorOperators.LSHR, 40).sub(threshold);
        LongVector b1 = x.lanewise(VectorOperators.LSHR, 16).and(0xFFFFFFL).sub(threshold);
        LongVector pair =
            b0.lanewise(VectorOperators.LSHR, 63)
                .or(b1.lanewise(VectorOperators.LSHR, 63).lanewise(VectorOperators.LSHL, 1));
        acc = acc.or(pair.lanewise(VectorOperators.LSHL, PAIR_SHIFTS.add(2L * LL * g)));
      }
      bits[firstWord + w] = acc.reduceLanes(VectorOperators.OR);
    }
    rnd.seed += Ops.SplitMix.GAMMA * 32 * words;
    if (words * 64 < cols) {
      bits[firstWord + words] = FusedKernel.Scalar.word(rnd, threshold, cols - words * 64);
    }
  }

  private static LongVector mix64(LongVector z) {
    z =
        z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30))
            .mul(0xbf58476d1ce4e5b9L);
    z =
        z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27))
            .mul(0x94d049bb133111ebL);
    return z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
  }

  @Override
  public void l1(
      FusedKernel.Plan p,
      ByteBuffer[] rows,
      int cols,
      long[][] bits,
      long bitFrom,
      double[] before,
      double[] after) {
    int end = cols - cols % L;
    for (int i = 0; i < p.count(); i++) {
      for (int from = 0; from < end; from += L1_BLOCK) {
        int to = Math.min(end, from + L1_BLOCK);
        FloatVector all = FloatVector.zero(F);
        FloatVector kept = FloatVector.zero(F);
        for (int j = from; j < to; j += L) {
          all = all.add(FloatVector.fromByteBuffer(F, rows[i], 4 * j, ORDER).abs());
          kept = kept.add(kept(p, i, rows[i], j, bits, bitFrom).abs());
        }
        before[i] += all.reduceLanes(VectorOperators.ADD);
        after[i] += kept.reduceLanes(VectorOperators.ADD);
      }
      for (int j = end; j < cols; j++) {
        float d = rows[i].getFloat(4 * j);
        before[i] += Math.abs(d);
        after[i] += Math.abs(FusedKernel.Scalar.kept(p, i, d, bits, bitFrom + j));
      }
    }
  }
}
