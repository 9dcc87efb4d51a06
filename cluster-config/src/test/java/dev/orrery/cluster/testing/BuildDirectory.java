package dev.orrery.cluster.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * The module's build directory ({@code target/}), where tests keep their files so that {@code mvn clean}
 * removes whatever a killed run left behind, and nothing lands in the shared /tmp.
 */
public final class BuildDirectory {

  private BuildDirectory() {}

  /** {@code <module>/target}; Surefire sets {@code basedir} and runs tests in the module directory. */
  public static Path path() {
    Path target = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).resolve("target");
    try {
      return Files.createDirectories(target).toAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + target, e);
    }
  }

  /** A new directory under {@link #path()}. */
  public static Path newTempDirectory(String prefix) {
    try {
      return Files.createTempDirectory(path(), prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory in " + path(), e);
    }
  }

  /** Deletes a directory tree; a no-op if it does not exist. */
  public static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }

  /** For {@code @TempDir(factory = BuildDirectory.TempDirs.class)}: JUnit's temp dirs, but under target/. */
  public static final class TempDirs implements TempDirFactory {
    @Override
    public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext context) throws IOException {
      return Files.createTempDirectory(path(), "junit-");
    }
  }
}
