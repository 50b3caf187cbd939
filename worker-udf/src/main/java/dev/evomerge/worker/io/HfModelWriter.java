package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

/**
 * Writes a Hugging Face model folder atomically: everything goes to a hidden sibling folder that is
 * renamed into place only when complete, so a failed write leaves nothing that looks like a model.
 */
public final class HfModelWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HfModelWriter() {}

  public static void write(
      Path target,
      Configuration conf,
      ObjectNode config,
      Map<String, FloatTensor> tensors,
      DType dtype,
      List<Path> tokenizerFiles) {
    Path staging =
        new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
    try {
      FileSystem fs = target.getFileSystem(conf);
      // no .crc side files from the local checksum filesystem in a model folder
      fs.setWriteChecksum(false);
      if (fs.exists(target)) {
        throw new CheckpointException(String.format("Output folder %s already exists", target));
      }
      fs.mkdirs(staging);
      try {
        ObjectNode cfg = config.deepCopy();
        cfg.put("torch_dtype", torchDtypeName(dtype));
        try (OutputStream out = fs.create(new Path(staging, HfModelFolder.CONFIG), true)) {
          JSON.writerWithDefaultPrettyPrinter().writeValue(out, cfg);
        }
        SafetensorsWriter.write(new Path(staging, HfModelFolder.WEIGHTS), conf, tensors, dtype);
        for (Path src : tokenizerFiles) {
          FileUtil.copy(
              src.getFileSystem(conf),
              src,
              fs,
              new Path(staging, src.getName()),
              false,
              true,
              conf);
        }
        if (!fs.rename(staging, target)) {
          throw new CheckpointException(
              String.format("Cannot move finished model %s into place at %s", staging, target));
        }
      } catch (IOException | RuntimeException e) {
        fs.delete(staging, true);
        throw e;
      }
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot write model folder %s", target), e);
    }
  }

  static String torchDtypeName(DType dtype) {
    return switch (dtype) {
      case F32 -> "float32";
      case F16 -> "float16";
      case BF16 -> "bfloat16";
      case F64 -> "float64";
      default -> throw new IllegalArgumentException("Not a model dtype: " + dtype);
    };
  }
}
