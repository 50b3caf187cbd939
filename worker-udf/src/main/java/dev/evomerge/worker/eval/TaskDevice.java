package dev.evomerge.worker.eval;

import ai.djl.Device;

/**
 * Where a task computes, and how that was decided (recorded with each candidate's result, so a run
 * shows which evaluations ran on which device).
 *
 * @param device the DJL device the task's sources, weights and forward passes live on
 * @param note for the history, e.g. {@code gpu 1} or {@code cpu (gpu 0 assigned, no CUDA)}; a note
 *     holds no {@code "; "}, which separates the devices of a candidate's shards
 */
public record TaskDevice(Device device, String note) {
  /** The note of a task that was assigned GPU {@code address} but runs on the CPU (no CUDA). */
  public static String cpuFallbackNote(String executor, String address) {
    return executor + "cpu (gpu " + address + " assigned, no CUDA)";
  }

  public static TaskDevice cpu() {
    return new TaskDevice(Device.cpu(), "cpu");
  }
}
