package dev.evomerge.worker.io;

import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real HDFS for tests: Hadoop's MiniDFSCluster (one namenode, one datanode) in the test JVM, with
 * every address it listens on bound to 127.0.0.1. Used by this module's and the driver's HDFS tests
 * (the driver gets it from this module's test jar).
 */
public final class MiniHdfs {
  private MiniHdfs() {}

  /** Every address the namenode and datanode listen on, set to loopback with a free port. */
  static Configuration loopbackConf(java.nio.file.Path baseDir, long blockSize) {
    Configuration c = new Configuration();
    c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.resolve("dfs").toString());
    c.set("hadoop.tmp.dir", baseDir.resolve("tmp").toString());
    for (String key :
        List.of(
            "dfs.namenode.rpc-address",
            "dfs.namenode.servicerpc-address",
            "dfs.namenode.lifeline.rpc-address",
            "dfs.namenode.http-address",
            "dfs.namenode.https-address",
            "dfs.namenode.secondary.http-address",
            "dfs.namenode.secondary.https-address",
            "dfs.namenode.backup.address",
            "dfs.namenode.backup.http-address",
            "dfs.datanode.address",
            "dfs.datanode.http.address",
            "dfs.datanode.https.address",
            "dfs.datanode.ipc.address")) {
      c.set(key, "127.0.0.1:0");
    }
    for (String key :
        List.of(
            "dfs.namenode.rpc-bind-host",
            "dfs.namenode.servicerpc-bind-host",
            "dfs.namenode.lifeline.rpc-bind-host",
            "dfs.namenode.http-bind-host",
            "dfs.namenode.https-bind-host")) {
      c.set(key, "127.0.0.1");
    }
    c.set("dfs.http.policy", "HTTP_ONLY");
    c.setInt("dfs.replication", 1);
    c.setLong("dfs.blocksize", blockSize);
    c.setLong("dfs.namenode.fs-limits.min-block-size", 0);
    c.setInt("dfs.bytes-per-checksum", 512);
    c.setLong("dfs.heartbeat.interval", 1);
    // no reverse DNS of the datanode's address; the client connects to 127.0.0.1 directly
    c.setBoolean("dfs.namenode.datanode.registration.ip-hostname-check", false);
    c.setBoolean("dfs.client.use.datanode.hostname", false);
    return c;
  }

  /**
   * Starts a formatted cluster keeping its files under {@code baseDir}, with {@code blockSize}-byte
   * blocks (a multiple of 512), and waits until the datanode has registered.
   */
  public static MiniDFSCluster start(java.nio.file.Path baseDir, long blockSize)
      throws IOException {
    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(loopbackConf(baseDir, blockSize))
            .nameNodePort(0)
            .nameNodeHttpPort(0)
            .numDataNodes(1)
            .checkDataNodeAddrConfig(true)
            .format(true)
            .build();
    cluster.waitActive();
    return cluster;
  }

  /**
   * {@code hdfs://127.0.0.1:PORT}: the cluster names itself {@code hdfs://localhost:PORT}; this
   * addresses the namenode by its loopback IP.
   */
  public static String uri(MiniDFSCluster cluster) {
    return "hdfs://127.0.0.1:" + cluster.getNameNodePort();
  }
}
