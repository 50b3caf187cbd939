package dev.evomerge.driver.search;

/**
 * Eigendecomposition of a small symmetric matrix by cyclic Jacobi rotations. Written here rather
 * than taken from Commons Math: CMA-ES needs only this, the driver then needs no linear-algebra
 * dependency on its (Spark-provided) classpath, and the fixed rotation order keeps results
 * bit-identical across runs, which resumable search relies on. Genome dimensions are tens to a few
 * hundred, where Jacobi is fast enough.
 */
final class SymmetricEigen {
  /** Eigenvalues. */
  final double[] values;

  /** Eigenvectors as columns: {@code vectors[i][k]} is component i of eigenvector k. */
  final double[][] vectors;

  private SymmetricEigen(double[] values, double[][] vectors) {
    this.values = values;
    this.vectors = vectors;
  }

  static SymmetricEigen of(double[][] matrix) {
    int n = matrix.length;
    double[][] a = new double[n][];
    for (int i = 0; i < n; i++) {
      a[i] = matrix[i].clone();
    }
    double[][] v = new double[n][n];
    for (int i = 0; i < n; i++) {
      v[i][i] = 1;
    }
    for (int sweep = 0; sweep < 100; sweep++) {
      double off = 0;
      double diag = 0;
      for (int i = 0; i < n; i++) {
        diag += a[i][i] * a[i][i];
        for (int j = i + 1; j < n; j++) {
          off += a[i][j] * a[i][j];
        }
      }
      if (off <= 1e-30 * diag || off == 0) {
        break;
      }
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          double apq = a[p][q];
          if (apq == 0) {
            continue;
          }
          // the rotation that zeroes a[p][q] (Numerical Recipes, with the stable tangent)
          double theta = (a[q][q] - a[p][p]) / (2 * apq);
          double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          if (theta == 0) {
            t = 1;
          }
          double c = 1 / Math.sqrt(t * t + 1);
          double s = t * c;
          for (int k = 0; k < n; k++) {
            double akp = a[k][p];
            double akq = a[k][q];
            a[k][p] = c * akp - s * akq;
            a[k][q] = s * akp + c * akq;
          }
          for (int k = 0; k < n; k++) {
            double apk = a[p][k];
            double aqk = a[q][k];
            a[p][k] = c * apk - s * aqk;
            a[q][k] = s * apk + c * aqk;
          }
          for (int k = 0; k < n; k++) {
            double vkp = v[k][p];
            double vkq = v[k][q];
            v[k][p] = c * vkp - s * vkq;
            v[k][q] = s * vkp + c * vkq;
          }
        }
      }
    }
    double[] values = new double[n];
    for (int i = 0; i < n; i++) {
      values[i] = a[i][i];
    }
    return new SymmetricEigen(values, v);
  }
}
