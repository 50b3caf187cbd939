/**
 * Checkpoint I/O through the Hadoop {@code FileSystem} API ({@code file:}, {@code s3a:}, {@code
 * hdfs:}): safetensors files and Hugging Face model folders ({@code config.json}, {@code
 * model.safetensors} or {@code model.safetensors.index.json} with shards, tokenizer files), read
 * and written without Spark.
 *
 * <p>Reading ({@link dev.evomerge.worker.io.SafetensorsFile}, {@link
 * dev.evomerge.worker.io.HfModelFolder}): opening reads only configs, the index and headers, which
 * are strictly validated (header length cap, strict JSON without duplicate keys, known dtypes,
 * offsets tiling the data section exactly, shard names that stay in the folder, no pickles).
 * Tensors are then read one at a time, whole or in element ranges (any size, no 2 GiB limit), from
 * a memory map for local files or with positioned reads ({@code openFile()} with a random read
 * policy and the known length) for remote ones, several tensors of a remote shard with one vectored
 * read, optionally through an executor-local {@link dev.evomerge.worker.io.ShardCache}. Every
 * element type is widened to F32 in Java; BF16 is widened here because DJL cannot hold it, BF16 and
 * F16 with the Vector API where the JVM has {@code jdk.incubator.vector}. Bad input is always a
 * {@link dev.evomerge.worker.io.CheckpointException} naming the file and tensor.
 *
 * <p>Writing ({@link dev.evomerge.worker.io.HfModelWriter}): sharded safetensors with HF names and
 * index, in F32/F16/BF16/F64, streamed in chunks. On filesystems with atomic rename the folder
 * appears by renaming a hidden staging folder. On object stores the files are written in place, the
 * index last (it names evomerge as writer), then {@value
 * dev.evomerge.worker.io.HfModelFolder#COMPLETE_MARKER} listing every shard and its length. A
 * reader treats such a folder as a model only if the marker exists and every listed shard has the
 * listed length; a folder with no index and no {@code model.safetensors} has no weights.
 */
package dev.evomerge.worker.io;
