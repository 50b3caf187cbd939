package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pointer files on a local disk and on an object store (s3proxy on 127.0.0.1, real S3A). */
class RunPointersTest {
  @TempDir Path tmp;

  private static com.fasterxml.jackson.databind.node.ObjectNode pointer(String run) {
    return RunFolder.JSON.createObjectNode().put("run", run);
  }

  @Test
  void localPointersAreReplacedWholeWithNoTemporaryFileLeft() throws Exception {
    Configuration conf = new Configuration();
    String root = tmp.resolve("runs").toString();
    assertEquals(Optional.empty(), RunPointers.read(root, RunPointers.LATEST, conf));
    RunPointers.write(root, RunPointers.LATEST, pointer("/runs/a"), conf);
    RunPointers.write(root, RunPointers.LATEST, pointer("/runs/b"), conf);
    assertEquals(Optional.of("/runs/b"), RunPointers.read(root, RunPointers.LATEST, conf));
    try (Stream<Path> files = Files.list(tmp.resolve("runs"))) {
      assertEquals(
          java.util.List.of("latest.json"), files.map(p -> p.getFileName().toString()).toList());
    }
    Files.writeString(tmp.resolve("runs/champion.json"), "{\"name\": \"x\"}");
    RunError e =
        assertThrows(RunError.class, () -> RunPointers.read(root, RunPointers.CHAMPION, conf));
    assertTrue(e.getMessage().contains("champion.json"), e.getMessage());
  }

  @Test
  void objectStorePointersAreOnePutThatReplacesTheOldOne() throws Exception {
    BlobStoreContext store =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
    store.getBlobStore().createContainerInLocation(null, "runs");
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(store.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "AKIDPOINTERS", "pointer-secret")
            .build();
    proxy.start();
    try {
      for (int i = 0; i < 500 && !"STARTED".equals(proxy.getState()); i++) {
        Thread.sleep(10);
      }
      Configuration conf = new Configuration();
      conf.set("fs.s3a.endpoint", "http://127.0.0.1:" + proxy.getPort());
      conf.set("fs.s3a.endpoint.region", "us-east-1");
      conf.setBoolean("fs.s3a.path.style.access", true);
      conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
      conf.set(
          "fs.s3a.aws.credentials.provider",
          "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
      conf.set("fs.s3a.access.key", "AKIDPOINTERS");
      conf.set("fs.s3a.secret.key", "pointer-secret");
      conf.setBoolean("fs.s3a.impl.disable.cache", true);
      String root = "s3a://runs/nightly";
      RunPointers.write(root, RunPointers.CHAMPION, pointer("s3a://runs/nightly/a"), conf);
      RunPointers.write(root, RunPointers.CHAMPION, pointer("s3a://runs/nightly/b"), conf);
      assertEquals(
          Optional.of("s3a://runs/nightly/b"), RunPointers.read(root, RunPointers.CHAMPION, conf));
      FileSystem s3 = new org.apache.hadoop.fs.Path(root).getFileSystem(conf);
      FileStatus[] listed = s3.listStatus(new org.apache.hadoop.fs.Path(root));
      assertEquals(1, listed.length, "no temporary object next to the pointer");
      assertEquals("champion.json", listed[0].getPath().getName());
      assertFalse(RunPointers.read(root, RunPointers.LATEST, conf).isPresent());
      s3.close();
    } finally {
      proxy.stop();
      store.close();
    }
  }
}
