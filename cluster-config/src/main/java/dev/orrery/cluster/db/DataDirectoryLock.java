package dev.orrery.cluster.db;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive OS file lock on {@code <dataDirectory>/orrery-db.lock}, held while this process owns the
 * data directory's database. The OS releases it when the process dies, however it dies, so the file never
 * needs deleting by hand; while it is held, a second node on the same directory fails instead of stopping
 * the first node's server as if it were orphaned.
 */
final class DataDirectoryLock implements AutoCloseable {

  static final String FILE_NAME = "orrery-db.lock";

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private DataDirectoryLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /** Takes the lock or throws {@link IllegalStateException} if a live process (this one included) holds it. */
  static DataDirectoryLock acquire(Path dataDirectory) {
    Path file = dataDirectory.resolve(FILE_NAME);
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new IllegalStateException("cannot open lock file " + file + ": " + e.getMessage(), e);
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this very JVM: same answer as another process holding it
    } catch (IOException e) {
      closeQuietly(channel);
      throw new IllegalStateException("cannot lock " + file + ": " + e.getMessage(), e);
    }
    if (lock == null) {
      closeQuietly(channel);
      throw new IllegalStateException("data directory " + dataDirectory + " is in use by another running Orrery "
          + "process (it holds " + file + "); two nodes cannot share a data directory");
    }
    return new DataDirectoryLock(file, channel, lock);
  }

  Path file() {
    return file;
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // The channel close below releases it as well.
    }
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // Closing a lock file's channel only fails if the file system is gone; the OS drops the lock anyway.
    }
  }
}
