package dev.evomerge.worker.eval;

import dev.evomerge.worker.merge.MergePlan;
import java.io.Serializable;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a genome's genes spread over a model: each (source, gene) has one value per cell, a cell
 * being a (layer group, name filter) pair. Layer groups cut the {@code layers} transformer layers
 * into {@code layerGroups} contiguous blocks of near-equal size (group {@code g} holds layers
 * {@code [ceil(g*L/N), ceil((g+1)*L/N))}); tensors before the layers (embeddings) belong to the
 * first group, those after them (final norm, LM head) to the last, as mergekit's slices assign
 * them. A tensor's filter is the first of {@code filters} its name contains, or the rest. With
 * {@code softmax} the weight genes are logits and a cell's weights are their softmax over the
 * sources.
 *
 * <p>Genome index of source {@code i}, gene {@code j} (of {@code G}), cell {@code c}: {@code (i*G +
 * j) * cells() + c}, with {@code c = group * (filters.size() + 1) + filter}; with one cell this is
 * the plain layout {@code i*G + j}.
 *
 * @param layerGroups number of layer groups, 1 for one value over all layers
 * @param filters tensor-name substrings, each with its own genes; the rest share one more cell
 * @param softmax weight genes are logits, normalised per cell by a softmax over the sources
 * @param layers number of transformer layers of the models (needed for more than one group)
 */
public record GeneLayout(int layerGroups, List<String> filters, boolean softmax, int layers)
    implements Serializable {
  /** One value per (source, gene) for the whole model: the plain layout. */
  public static final GeneLayout GLOBAL = new GeneLayout(1, List.of(), false, 0);

  private static final Pattern LAYER =
      Pattern.compile("(?:^|\\.)(?:layers|h|blocks|layer)\\.(\\d+)\\.");

  public GeneLayout {
    filters = List.copyOf(filters);
    if (layerGroups < 1 || (layerGroups > 1 && layerGroups > layers)) {
      throw new IllegalArgumentException(
          String.format(
              "Invalid number of layer groups: %d layer groups for %d layers (1 to %d)",
              layerGroups, layers, Math.max(1, layers)));
    }
    for (String f : filters) {
      if (f == null || f.isEmpty()) {
        throw new IllegalArgumentException("Empty tensor-name filter in " + filters);
      }
    }
    if (filters.stream().distinct().count() != filters.size()) {
      throw new IllegalArgumentException("Duplicate tensor-name filters: " + filters);
    }
  }

  /** Values per (source, gene). */
  public int cells() {
    return layerGroups * (filters.size() + 1);
  }

  /** First layer of group {@code g}; {@code groupStart(layerGroups)} is the layer count. */
  public int groupStart(int g) {
    return (int) Math.ceil((double) g * layers / layerGroups - 1e-9);
  }

  /** The cell of a tensor, by its layer (or place before or after the layers) and its name. */
  public int cellOf(String tensor) {
    int group = 0;
    if (layerGroups > 1) {
      Matcher m = LAYER.matcher(tensor);
      if (m.find()) {
        int layer = Integer.parseInt(m.group(1));
        group = layerGroups - 1;
        while (group > 0 && groupStart(group) > layer) {
          group--;
        }
      } else if (MergePlan.isPostLayer(tensor)) {
        group = layerGroups - 1;
      }
    }
    return group * (filters.size() + 1) + filterOf(tensor);
  }

  /** The index of the first filter the name contains, or {@code filters.size()} (the rest). */
  public int filterOf(String tensor) {
    for (int f = 0; f < filters.size(); f++) {
      if (tensor.contains(filters.get(f))) {
        return f;
      }
    }
    return filters.size();
  }
}
