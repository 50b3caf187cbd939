package dev.evomerge.worker.spark;

import com.esotericsoftware.kryo.Kryo;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.DataFlowSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.GeneLayout;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.score.Direction;
import dev.evomerge.worker.score.ExampleResult;
import dev.evomerge.worker.score.ExampleScores;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskKind;
import dev.evomerge.worker.score.TaskPartial;
import dev.evomerge.worker.score.TaskResult;
import dev.evomerge.worker.score.TaskSpec;
import dev.evomerge.worker.stats.ModelStatistics;
import dev.evomerge.worker.stats.StatisticsOptions;
import dev.evomerge.worker.stats.StatisticsRow;
import dev.evomerge.worker.stats.StatisticsSpec;
import java.util.List;
import java.util.Map;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers every class evomerge sends through Kryo, so runs can keep {@code
 * spark.kryo.registrationRequired=true} and an unregistered class fails loudly instead of being
 * written with its full name on every record.
 */
public final class EvomergeKryoRegistrator implements KryoRegistrator {
  private static final List<Class<? extends Record>> RECORDS =
      List.of(
          EvalSpec.class,
          GeneLayout.class,
          DataFlowSpec.class,
          dev.evomerge.worker.eval.PopulationSpec.class,
          CandidateSpec.class,
          CandidateResult.class,
          ShardScore.class,
          TaskRow.class,
          TaskSpec.class,
          TaskExample.class,
          TaskPartial.class,
          TaskResult.class,
          ExampleResult.class,
          ExampleScores.class,
          FloatTensor.class,
          StatisticsOptions.class,
          StatisticsSpec.class,
          StatisticsRow.class,
          ModelStatistics.class);

  @Override
  public void registerClasses(Kryo kryo) {
    for (Class<? extends Record> type : RECORDS) {
      register(kryo, type);
    }
    kryo.register(CandidateSpec[].class);
    kryo.register(ShardScore[].class);
    kryo.register(TaskRow[].class);
    kryo.register(TaskKind.class);
    kryo.register(Direction.class);
    kryo.register(TaskExample[].class);
    kryo.register(TaskPartial[].class);
    kryo.register(ExampleResult[].class);
    kryo.register(double[].class);
    kryo.register(long[].class);
    kryo.register(int[].class);
    kryo.register(boolean[].class);
    kryo.register(float[].class);
    kryo.register(StatisticsRow[].class);
    // List.copyOf / Map.copyOf give the JDK's immutable collections; Kryo copies them into their
    // mutable siblings, which the records' canonical constructors copy back.
    kryo.register(List.of().getClass(), new ImmutableListSerializer());
    kryo.register(List.of(1).getClass(), new ImmutableListSerializer());
    kryo.register(List.of(1, 2, 3).getClass(), new ImmutableListSerializer());
    kryo.register(Map.of().getClass(), new ImmutableMapSerializer());
    kryo.register(Map.of(1, 1).getClass(), new ImmutableMapSerializer());
    kryo.register(Map.of(1, 1, 2, 2).getClass(), new ImmutableMapSerializer());
    kryo.register(java.util.ArrayList.class);
    kryo.register(java.util.HashMap.class);
  }

  private static <T extends Record> void register(Kryo kryo, Class<T> type) {
    kryo.register(type, new RecordSerializer<>(type));
  }
}
