/**
 * Checkpoint I/O through the Hadoop {@code FileSystem} API: safetensors files and Hugging Face
 * model folders ({@code config.json}, weights, tokenizer files), read and written without Spark.
 *
 * <p>Tensors reach the rest of the worker widened to F32 on the Java heap ({@link
 * dev.evomerge.worker.io.FloatTensor}); BF16 is widened here because DJL cannot hold it.
 */
package dev.evomerge.worker.io;
