package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A Hugging Face model folder: {@code config.json}, {@code model.safetensors} and the tokenizer
 * files that travel with it. Opening it reads only {@code config.json} and the safetensors header.
 */
public final class HfModelFolder {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String TOKENIZER = "tokenizer.json";

  /** Files copied along with the weights when a merged model is written. */
  public static final List<String> TOKENIZER_FILES =
      List.of(
          TOKENIZER, "tokenizer_config.json", "special_tokens_map.json", "generation_config.json");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path folder;
  private final Configuration conf;
  private final ObjectNode config;
  private final SafetensorsFile weights;
  private final long weightsLength;
  private final long weightsModificationTime;

  private HfModelFolder(
      Path folder,
      Configuration conf,
      ObjectNode config,
      SafetensorsFile weights,
      FileStatus weightsStatus) {
    this.folder = folder;
    this.conf = conf;
    this.config = config;
    this.weights = weights;
    this.weightsLength = weightsStatus.getLen();
    this.weightsModificationTime = weightsStatus.getModificationTime();
  }

  /** Opens a model folder given as a path or URI ({@code file:}, {@code s3a:}, {@code hdfs:}). */
  public static HfModelFolder open(String uri, Configuration conf) {
    Path folder = new Path(uri);
    try {
      FileSystem fs = folder.getFileSystem(conf);
      if (!fs.exists(folder)) {
        throw new CheckpointException(String.format("Model folder %s does not exist", uri));
      }
      if (!fs.getFileStatus(folder).isDirectory()) {
        throw new CheckpointException(String.format("Model path %s is not a folder", uri));
      }
      Path configPath = new Path(folder, CONFIG);
      ObjectNode config = readConfig(fs, configPath);
      Path weightsPath = new Path(folder, WEIGHTS);
      FileStatus weightsStatus;
      try {
        weightsStatus = fs.getFileStatus(weightsPath);
      } catch (FileNotFoundException e) {
        throw new CheckpointException(String.format("Model folder %s has no %s", uri, WEIGHTS), e);
      }
      return new HfModelFolder(
          folder, conf, config, SafetensorsFile.open(weightsPath, conf), weightsStatus);
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot open model folder %s", uri), e);
    }
  }

  private static ObjectNode readConfig(FileSystem fs, Path configPath) throws IOException {
    if (!fs.exists(configPath)) {
      throw new CheckpointException(String.format("Missing %s", configPath));
    }
    try (InputStream in = fs.open(configPath)) {
      if (JSON.readTree(in) instanceof ObjectNode node) {
        return node;
      }
      throw new CheckpointException(String.format("%s is not a JSON object", configPath));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new CheckpointException(String.format("Malformed JSON in %s", configPath), e);
    }
  }

  public Path folder() {
    return folder;
  }

  public String uri() {
    return folder.toString();
  }

  /** A copy of {@code config.json}. */
  public ObjectNode config() {
    return config.deepCopy();
  }

  public Map<String, TensorInfo> tensors() {
    return weights.tensors();
  }

  public FloatTensor readFloat(String name) {
    return weights.readFloat(name);
  }

  /** All tensors widened to F32, in header order. */
  public Map<String, FloatTensor> readAllFloat() {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (String name : weights.tensors().keySet()) {
      out.put(name, weights.readFloat(name));
    }
    return out;
  }

  /** Identity of the weights' bytes, for caches: path, length and modification time. */
  public String versionKey() {
    return folder + "#" + weightsLength + "@" + weightsModificationTime;
  }

  /** Tokenizer files present in this folder. */
  public List<Path> tokenizerFiles() {
    List<Path> present = new ArrayList<>();
    try {
      FileSystem fs = folder.getFileSystem(conf);
      for (String name : TOKENIZER_FILES) {
        Path p = new Path(folder, name);
        if (fs.exists(p)) {
          present.add(p);
        }
      }
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot list model folder %s", folder), e);
    }
    return present;
  }
}
