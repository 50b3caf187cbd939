package dev.evomerge.worker.spark;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.evomerge.worker.eval.TaskDevice;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The device of the running Spark task: the GPU Spark assigned to it (stage-level scheduling with a
 * {@code gpu} task resource), else the CPU. A GPU address on an engine without CUDA (a test cluster
 * with fake GPUs, a CPU-only image) runs on the CPU and says so.
 */
final class TaskDevices {
  private TaskDevices() {}

  /** The device, noted as {@code executor <id>: <device>} for the run's history. */
  static TaskDevice current() {
    TaskContext context = TaskContext.get();
    if (context == null) {
      return TaskDevice.cpu();
    }
    String executor = "executor " + SparkEnv.get().executorId() + ": ";
    ResourceInformation gpu = context.resourcesJMap().get("gpu");
    if (gpu == null || gpu.addresses().length == 0) {
      return new TaskDevice(Device.cpu(), executor + "cpu");
    }
    String address = gpu.addresses()[0];
    if (Engine.getInstance().getGpuCount() > 0) {
      return new TaskDevice(Device.gpu(Integer.parseInt(address)), executor + "gpu " + address);
    }
    return new TaskDevice(Device.cpu(), TaskDevice.cpuFallbackNote(executor, address));
  }
}
