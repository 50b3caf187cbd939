package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.RunPointers;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.yaml.snakeyaml.Yaml;

/**
 * The files in {@code deploy/} parse, name the real main class and spark-submit jar, and set only
 * keys that evomerge, Spark or Hadoop S3A read.
 */
class DeployFilesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path ROOT = repositoryRoot();
  private static final Path DEPLOY = ROOT.resolve("deploy");

  @TempDir Path tmp;

  private static Path repositoryRoot() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("deploy")) ? here : here.getParent();
  }

  // ---- what the build makes ---------------------------------------------------------------------

  /** The main class and the spark-submit jar's file name, from driver/pom.xml. */
  record Artifact(String mainClass, String jarName) {}

  static Artifact artifact() throws Exception {
    Document pom =
        DocumentBuilderFactory.newInstance()
            .newDocumentBuilder()
            .parse(ROOT.resolve("driver/pom.xml").toFile());
    Element project = pom.getDocumentElement();
    String artifactId = child(project, "artifactId");
    String version = child((Element) project.getElementsByTagName("parent").item(0), "version");
    String classifier = pom.getElementsByTagName("shadedClassifierName").item(0).getTextContent();
    String mainClass = pom.getElementsByTagName("main.class").item(0).getTextContent().trim();
    return new Artifact(mainClass, artifactId + "-" + version + "-" + classifier.trim() + ".jar");
  }

  private static String child(Element parent, String name) {
    for (var n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return e.getTextContent().trim();
      }
    }
    throw new AssertionError("no <" + name + "> in " + parent.getTagName());
  }

  @Test
  void theMainClassOfThePomIsTheCliEntryPoint() throws Exception {
    Artifact a = artifact();
    assertEquals("evomerge-driver-0.1.0-SNAPSHOT-spark.jar", a.jarName());
    Class<?> main = Class.forName(a.mainClass());
    assertTrue(Modifier.isStatic(main.getMethod("main", String[].class).getModifiers()));
  }

  // ---- the keys Spark, S3A and evomerge read
  // ------------------------------------------------------

  /**
   * Keys of Spark's documented Kubernetes settings the files use (spark-kubernetes is not here).
   */
  private static final Set<String> KUBERNETES_KEYS =
      Set.of("spark.kubernetes.executor.deleteOnTermination");

  private static final Set<String> EVOMERGE_HADOOP_KEYS =
      Set.of(
          HfModelFolder.CACHE_DIR_KEY,
          HfModelFolder.CACHE_BYTES_KEY,
          HfModelWriter.ATOMIC_RENAME_KEY);

  private static Set<String> s3aKeys;

  /** Every key S3A defines: the values of {@code org.apache.hadoop.fs.s3a.Constants}' fields. */
  private static synchronized Set<String> s3aKeys() throws Exception {
    if (s3aKeys == null) {
      Set<String> keys = new TreeSet<>();
      for (Field f : Class.forName("org.apache.hadoop.fs.s3a.Constants").getFields()) {
        if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
          String v = (String) f.get(null);
          if (v != null && v.startsWith("fs.s3a.")) {
            keys.add(v);
          }
        }
      }
      s3aKeys = keys;
    }
    return s3aKeys;
  }

  private static boolean sparkConfigsLoaded;

  /** Spark registers a {@code ConfigEntry} as each config holder object initialises. */
  private static synchronized void loadSparkConfigs() throws Exception {
    if (!sparkConfigsLoaded) {
      for (String holder :
          List.of(
              "org.apache.spark.internal.config.package$",
              "org.apache.spark.internal.config.History$",
              "org.apache.spark.internal.config.UI$",
              "org.apache.spark.internal.config.Kryo$",
              "org.apache.spark.internal.config.Network$",
              "org.apache.spark.internal.config.Deploy$",
              "org.apache.spark.internal.config.Worker$",
              "org.apache.spark.internal.config.Status$",
              "org.apache.spark.internal.config.Python$",
              "org.apache.spark.sql.internal.SQLConf$",
              "org.apache.spark.sql.internal.StaticSQLConf$")) {
        Class.forName(holder, true, DeployFilesTest.class.getClassLoader())
            .getField("MODULE$")
            .get(null);
      }
      sparkConfigsLoaded = true;
    }
  }

  /** Null when Spark, S3A or evomerge reads {@code key}; else why not. */
  static String unknownKey(String key) throws Exception {
    if (key.startsWith("spark.hadoop.")) {
      String hadoop = key.substring("spark.hadoop.".length());
      if (EVOMERGE_HADOOP_KEYS.contains(hadoop) || s3aKeys().contains(hadoop)) {
        return null;
      }
      return "not an S3A key (org.apache.hadoop.fs.s3a.Constants) nor an evomerge.io key";
    }
    if (key.startsWith("spark.executorEnv.")) {
      return key.substring("spark.executorEnv.".length()).matches("[A-Z_][A-Z0-9_]*")
          ? null
          : "not an environment variable name";
    }
    // ResourceUtils: spark.{driver,executor}.resource.NAME.{amount,discoveryScript,vendor}, and
    // spark.task.resource.NAME.amount
    String amount = org.apache.spark.resource.ResourceUtils$.MODULE$.AMOUNT();
    String script = org.apache.spark.resource.ResourceUtils$.MODULE$.DISCOVERY_SCRIPT();
    String vendor = org.apache.spark.resource.ResourceUtils$.MODULE$.VENDOR();
    if (key.matches("spark\\.(driver|executor)\\.resource\\.[a-z]+\\.[A-Za-z]+")) {
      String suffix = key.substring(key.lastIndexOf('.') + 1);
      return Set.of(amount, script, vendor).contains(suffix)
          ? null
          : "resource setting " + suffix + " is not one of amount, discoveryScript, vendor";
    }
    if (key.matches("spark\\.task\\.resource\\.[a-z]+\\.[A-Za-z]+")) {
      return key.endsWith("." + amount) ? null : "task resources take only amount";
    }
    if (key.startsWith("spark.kubernetes.")) {
      return KUBERNETES_KEYS.contains(key) ? null : "not a documented Kubernetes key here";
    }
    loadSparkConfigs();
    if (org.apache.spark.internal.config.ConfigEntry$.MODULE$.findEntry(key) != null) {
      return null;
    }
    // keys the launcher reads by name (spark.master, spark.submit.deployMode, ...)
    for (Field f : org.apache.spark.launcher.SparkLauncher.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && key.equals(f.get(null))) {
        return null;
      }
    }
    return "Spark defines no such setting (ConfigEntry.findEntry, SparkLauncher)";
  }

  private static void assertKnownKeys(String file, Map<String, ?> conf) throws Exception {
    List<String> unknown = new ArrayList<>();
    for (String key : conf.keySet()) {
      String why = unknownKey(key);
      if (why != null) {
        unknown.add(key + ": " + why);
      }
    }
    assertTrue(unknown.isEmpty(), file + " sets keys nobody reads: " + unknown);
  }

  @Test
  void theKeyCheckRejectsTyposAndAcceptsRealKeys() throws Exception {
    for (String key :
        List.of(
            "spark.executor.memoryOverhead",
            "spark.kryo.registrationRequired",
            "spark.eventLog.dir",
            "spark.history.fs.logDirectory",
            "spark.sql.shuffle.partitions",
            "spark.executor.resource.gpu.amount",
            "spark.hadoop.fs.s3a.path.style.access")) {
      assertEquals(null, unknownKey(key), key);
    }
    for (String typo :
        List.of(
            "spark.executor.memoryOverhaed",
            "spark.kryo.registrationRequire",
            "spark.executor.resource.gpu.discoveryscript",
            "spark.hadoop.fs.s3a.path.style",
            "spark.kubernetes.executor.deleteOnTerminate")) {
      assertNotNull(unknownKey(typo), typo);
    }
  }

  // ---- spark-gpu.conf and the wrapper
  // -------------------------------------------------------------

  /** The key/value lines of a spark-defaults style file, as spark-submit reads them. */
  static Map<String, String> properties(Path file) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] kv = l.split("\\s+", 2);
      assertEquals(2, kv.length, "no value in " + file + ": " + line);
      assertTrue(out.put(kv[0], kv[1]) == null, "key set twice in " + file + ": " + kv[0]);
    }
    return out;
  }

  @Test
  void sparkGpuConfSetsOnlyRealKeysAndItsClassesExist() throws Exception {
    Map<String, String> conf = properties(DEPLOY.resolve("spark-gpu.conf"));
    assertKnownKeys("spark-gpu.conf", conf);
    assertEquals("1", conf.get("spark.executor.resource.gpu.amount"));
    assertEquals("1", conf.get("spark.task.resource.gpu.amount"));
    assertTrue(
        conf.get("spark.executor.resource.gpu.discoveryScript").endsWith("/gpu-discovery.sh"));
    assertEquals("org.apache.spark.serializer.KryoSerializer", conf.get("spark.serializer"));
    Class.forName(conf.get("spark.serializer"));
    Class.forName(conf.get("spark.kryo.registrator"));
    String providers = conf.get("spark.hadoop.fs.s3a.aws.credentials.provider");
    assertTrue(providers.contains("WebIdentityTokenFileCredentialsProvider"), providers);
    for (String provider : providers.split(",")) {
      Class.forName(provider.strip()); // on the spark-submit jar's classpath (S3A and SDK v2)
    }
    assertTrue(conf.get("spark.executorEnv.DJL_CACHE_DIR").startsWith("/local/"));
    for (String side : List.of("driver", "executor")) {
      String flags = conf.get("spark." + side + ".extraJavaOptions");
      assertTrue(flags.contains("-Dai.djl.offline=true"), flags);
      assertTrue(flags.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), flags);
    }
    assertEquals(
        conf.get("spark.executor.extraJavaOptions"),
        conf.get("spark.driver.extraJavaOptions") + " -Djava.io.tmpdir=/local/tmp");
  }

  private record Shell(int code, String out) {}

  private static Shell shell(Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Shell(p.waitFor(), out);
  }

  @Test
  void theWrapperSubmitsTheJarWithTheMainClassThePropertiesAndTheShippedConfig() throws Exception {
    Artifact a = artifact();
    // a stand-in spark-submit that records its arguments, one per line
    Path args = tmp.resolve("args.txt");
    Path fake = tmp.resolve("spark-submit");
    Files.writeString(fake, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '" + args + "'\n");
    fake.toFile().setExecutable(true);
    Path jar = tmp.resolve(a.jarName());
    Files.writeString(jar, "");
    Shell s =
        shell(
            Map.of("SPARK_SUBMIT", fake.toString(), "EVOMERGE_JAR", jar.toString()),
            "bash",
            "deploy/spark-submit.sh",
            "--master",
            "spark://spark-master:7077",
            "--deploy-mode",
            "cluster",
            "--conf",
            "spark.executor.instances=2",
            "--",
            "run",
            "--config",
            "deploy/nightly.conf",
            "--warm-start",
            "latest");
    assertEquals(0, s.code(), s.out());
    assertEquals(
        List.of(
            "--properties-file",
            DEPLOY.resolve("spark-gpu.conf").toString(),
            "--deploy-mode",
            "cluster",
            "--class",
            a.mainClass(),
            "--name",
            "evomerge",
            "--master",
            "spark://spark-master:7077",
            "--files",
            "deploy/nightly.conf",
            "--conf",
            "spark.executor.instances=2",
            jar.toString(),
            "run",
            "--config",
            "nightly.conf",
            "--warm-start",
            "latest"),
        Files.readAllLines(args));

    // by default the jar the build makes; evomerge's own arguments are checked
    Shell dry =
        shell(
            Map.of(),
            "bash",
            "deploy/spark-submit.sh",
            "--dry-run",
            "--",
            "run",
            "--config",
            "deploy/nightly.conf");
    assertEquals(0, dry.code(), dry.out());
    assertTrue(
        dry.out().contains(ROOT.resolve("driver/target/" + a.jarName()).toString()), dry.out());
    Shell missing =
        shell(
            Map.of(),
            "bash",
            "deploy/spark-submit.sh",
            "--dry-run",
            "--",
            "run",
            "--config",
            "no.conf");
    assertEquals(2, missing.code());
    assertTrue(missing.out().contains("no.conf does not exist"), missing.out());
  }

  @Test
  void theDiscoveryScriptPrintsSparksResourceJson() throws Exception {
    Shell s =
        shell(
            Map.of("CUDA_VISIBLE_DEVICES", "0,3", "PATH", "/usr/bin:/bin"),
            "bash",
            "deploy/gpu-discovery.sh");
    assertEquals(0, s.code(), s.out());
    JsonNode gpus = JSON.readTree(s.out());
    assertEquals("gpu", gpus.get("name").asText());
    assertEquals("[\"0\",\"3\"]", gpus.get("addresses").toString());
  }

  @Test
  void theNightlyConfigLoadsWithGpuTasksAndAChampionMargin() throws Exception {
    RunSettings s = ConfigLoader.load(DEPLOY.resolve("nightly.conf").toFile(), List.of());
    assertEquals(1.0, s.eval().gpusPerTask());
    assertTrue(RunPointers.margin(s) > 0);
    assertTrue(s.eval().testTasks().size() > 0, "the champion is decided on test tasks");
  }

  // ---- Kubernetes
  // ---------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(String file) throws IOException {
    List<Object> docs = new ArrayList<>();
    try (InputStream in = Files.newInputStream(DEPLOY.resolve(file))) {
      new Yaml().loadAll(in).forEach(docs::add);
    }
    assertEquals(1, docs.size(), file);
    return (Map<String, Object>) docs.get(0);
  }

  @SuppressWarnings("unchecked")
  private static <T> T at(Map<String, Object> node, String... path) {
    Object o = node;
    for (String p : path) {
      assertInstanceOf(Map.class, o, String.join(".", path));
      o = ((Map<String, Object>) o).get(p);
    }
    assertNotNull(o, String.join(".", path));
    return (T) o;
  }

  private void checkSparkApplicationSpec(String file, Map<String, Object> spec) throws Exception {
    Artifact a = artifact();
    assertEquals(a.mainClass(), at(spec, "mainClass"), file);
    String app = at(spec, "mainApplicationFile");
    assertTrue(app.startsWith("local:///") && app.endsWith("/" + a.jarName()), app);
    assertEquals("Java", at(spec, "type"));
    assertEquals("Never", at(spec, "restartPolicy", "type"), file);
    assertEquals("nvidia.com/gpu", at(spec, "executor", "gpu", "name"));
    assertTrue(((Number) at(spec, "executor", "gpu", "quantity")).intValue() >= 1);
    Map<String, Object> conf = at(spec, "sparkConf");
    conf.forEach(
        (k, v) ->
            assertInstanceOf(String.class, v, file + ": sparkConf values must be strings: " + k));
    assertKnownKeys(file, conf);
    assertEquals(
        String.valueOf((Object) at(spec, "executor", "gpu", "quantity")),
        conf.get("spark.executor.resource.gpu.amount"),
        "Spark must know the GPUs the pod requests");
    // the settings it shares with spark-gpu.conf have the same values there
    Map<String, String> submit = properties(DEPLOY.resolve("spark-gpu.conf"));
    for (Map.Entry<String, Object> e : conf.entrySet()) {
      if (submit.containsKey(e.getKey())) {
        assertEquals(submit.get(e.getKey()), e.getValue(), file + ": " + e.getKey());
      }
    }
    // evomerge's arguments: a command it has and options it takes
    List<String> args = at(spec, "arguments");
    assertEquals("run", args.get(0));
    Options options =
        Options.parse(
            args.subList(1, args.size()).toArray(String[]::new),
            Set.of("--config", "--warm-start"));
    assertTrue(options.values.get("--config").endsWith(".conf"));
    // the config's folder is a mounted volume
    String configDir = Path.of(options.values.get("--config")).getParent().toString();
    List<Map<String, Object>> mounts = at(spec, "driver", "volumeMounts");
    assertTrue(
        mounts.stream().anyMatch(m -> configDir.equals(m.get("mountPath"))), mounts.toString());
  }

  @Test
  void sparkApplicationRunsTheJarOnGpuExecutors() throws Exception {
    Map<String, Object> app = yaml("kubernetes/sparkapplication.yaml");
    assertEquals("sparkoperator.k8s.io/v1beta2", app.get("apiVersion"));
    assertEquals("SparkApplication", app.get("kind"));
    checkSparkApplicationSpec("sparkapplication.yaml", at(app, "spec"));
  }

  @Test
  void scheduledSparkApplicationRunsNightlyWithoutOverlapAndMatchesTheApplication()
      throws Exception {
    Map<String, Object> scheduled = yaml("kubernetes/scheduledsparkapplication.yaml");
    assertEquals("sparkoperator.k8s.io/v1beta2", scheduled.get("apiVersion"));
    assertEquals("ScheduledSparkApplication", scheduled.get("kind"));
    Map<String, Object> spec = at(scheduled, "spec");
    assertCron(at(spec, "schedule"));
    String zone = at(spec, "timeZone");
    java.time.ZoneId.of(zone); // a real time zone id
    assertEquals("Forbid", at(spec, "concurrencyPolicy"));
    assertTrue(((Number) at(spec, "successfulRunHistoryLimit")).intValue() > 0);
    assertTrue(((Number) at(spec, "failedRunHistoryLimit")).intValue() > 0);
    Map<String, Object> template = at(spec, "template");
    checkSparkApplicationSpec("scheduledsparkapplication.yaml", template);
    assertEquals(
        at(yaml("kubernetes/sparkapplication.yaml"), "spec"),
        template,
        "the scheduled template and sparkapplication.yaml's spec drifted apart");
  }

  /** Five cron fields, each a number in range, a star, a step, a list or a range. */
  private static void assertCron(String schedule) {
    String[] f = schedule.trim().split("\\s+");
    assertEquals(5, f.length, schedule);
    int[][] ranges = {{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}};
    for (int i = 0; i < 5; i++) {
      for (String part : f[i].split(",")) {
        String base = part.replaceFirst("/\\d+$", "");
        if (base.equals("*")) {
          continue;
        }
        for (String n : base.split("-")) {
          int v = Integer.parseInt(n);
          assertTrue(v >= ranges[i][0] && v <= ranges[i][1], schedule + ": field " + i);
        }
      }
    }
  }

  // ---- cron and Airflow
  // ---------------------------------------------------------------------------

  @Test
  void theCronLineRunsTheWrapperNightlyOnTheNightlyConfig() throws Exception {
    List<String> entries = new ArrayList<>();
    boolean zone = false;
    for (String line : Files.readAllLines(DEPLOY.resolve("cron/evomerge.cron"))) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("CRON_TZ=")) {
        java.time.ZoneId.of(line.substring("CRON_TZ=".length()));
        zone = true;
        continue;
      }
      entries.add(line);
    }
    assertTrue(zone, "CRON_TZ pins the time zone");
    assertEquals(1, entries.size(), entries.toString());
    String[] fields = entries.get(0).split("\\s+", 6);
    assertCron(String.join(" ", List.of(fields).subList(0, 5)));
    String command = fields[5];
    assertTrue(command.contains("deploy/spark-submit.sh"), command);
    assertTrue(
        command.contains("-- run --config deploy/nightly.conf --warm-start latest"), command);
    assertTrue(command.contains("flock -n"), command);
    assertTrue(Files.exists(ROOT.resolve("deploy/nightly.conf")));
  }

  @Test
  void theAirflowDagCompilesAndSubmitsTheJarWithTheMainClass() throws Exception {
    String python = TestPython.interpreter(false);
    Path dag = DEPLOY.resolve("airflow/evomerge_nightly.py");
    Path cache = tmp.resolve("dag.pyc");
    Shell compiled =
        shell(
            Map.of(),
            python,
            "-c",
            "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)",
            dag.toString(),
            cache.toString());
    assertEquals(0, compiled.code(), compiled.out());
    // the operator's arguments, read from the syntax tree (Airflow itself is not installed)
    String script =
        """
        import ast, json, sys
        tree = ast.parse(open(sys.argv[1]).read())
        consts = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                v = node.value
                if isinstance(v, ast.Constant):
                    consts[node.targets[0].id] = v.value
                elif isinstance(v, ast.Call) and v.args and isinstance(v.args[-1], ast.Constant):
                    consts[node.targets[0].id] = v.args[-1].value
        def value(v):
            if isinstance(v, ast.Constant):
                return v.value
            if isinstance(v, ast.Name):
                return consts.get(v.id)
            if isinstance(v, ast.List):
                return [value(e) for e in v.elts]
            return ast.unparse(v)
        out = {"consts": consts}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "spark_properties":
                scope = {}
                exec(compile(ast.Module(body=[node], type_ignores=[]), sys.argv[1], "exec"), scope)
                out["spark_properties"] = scope["spark_properties"](sys.argv[2])
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("SparkSubmitOperator", "DAG"):
                out[node.func.id] = {k.arg: value(k.value) for k in node.keywords}
        print(json.dumps(out))
        """;
    Shell read =
        shell(
            Map.of(),
            python,
            "-c",
            script,
            dag.toString(),
            DEPLOY.resolve("spark-gpu.conf").toString());
    assertEquals(0, read.code(), read.out());
    JsonNode calls = JSON.readTree(read.out());
    Artifact a = artifact();
    JsonNode op = calls.get("SparkSubmitOperator");
    assertNotNull(op, read.out());
    assertEquals(a.mainClass(), op.get("java_class").asText());
    assertTrue(
        op.get("application").asText().endsWith("driver/target/" + a.jarName()), op.toString());
    assertEquals("run", op.get("application_args").get(0).asText());
    // the DAG submits with spark-gpu.conf's settings, parsed as spark-submit parses them
    assertTrue(
        op.get("conf").asText().contains("spark_properties(SPARK_PROPERTIES)"), op.toString());
    assertTrue(
        calls.get("consts").get("SPARK_PROPERTIES").asText().endsWith("deploy/spark-gpu.conf"));
    assertEquals(
        JSON.valueToTree(properties(DEPLOY.resolve("spark-gpu.conf"))),
        calls.get("spark_properties"));
    JsonNode dagArgs = calls.get("DAG");
    assertCron(dagArgs.get("schedule").asText());
    assertEquals(1, dagArgs.get("max_active_runs").asInt());
    assertEquals(false, dagArgs.get("catchup").asBoolean());
  }
}
