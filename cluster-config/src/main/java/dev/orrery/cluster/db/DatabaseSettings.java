package dev.orrery.cluster.db;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where the node's PostgreSQL is: an embedded server under {@code dataDirectory} (the default), or an
 * external one when {@code url} is set.
 *
 * @param url JDBC URL of an external server, or {@code null} for the embedded one
 * @param user user for the external server; {@code null} when embedded (the embedded server has its own)
 * @param password password for the external server ({@code ""} when none); {@code null} when embedded
 * @param dataDirectory the node's data directory; the embedded cluster lives in its {@code pg} subdirectory
 * @param embeddedPort port of the embedded server, {@code 0} to pick a free one; must be 0 when external
 */
public record DatabaseSettings(String url, String user, String password, Path dataDirectory, int embeddedPort) {

  public static final String ENV_URL = "ORRERY_DB_URL";
  public static final String ENV_USER = "ORRERY_DB_USER";
  public static final String ENV_PASSWORD = "ORRERY_DB_PASSWORD";
  public static final String ENV_DATA_DIR = "ORRERY_DATA_DIR";
  public static final String ENV_PORT = "ORRERY_DB_PORT";

  private static final String URL_PREFIX = "jdbc:postgresql:";

  public DatabaseSettings {
    if (dataDirectory == null) {
      throw new IllegalArgumentException("data directory must be set, was null");
    }
    if (embeddedPort < 0 || embeddedPort > 65_535) {
      throw new IllegalArgumentException(
          "embedded port must be 0 (pick a free port) or 1-65535, was " + embeddedPort);
    }
    if (url == null) {
      // Credentials without a URL are almost always a forgotten ORRERY_DB_URL: running on the embedded
      // server while the operator believes the data goes to their external one is worse than not starting.
      if (user != null) {
        throw new IllegalArgumentException(
            "user is only used with an external url (" + ENV_URL + "), but url is unset and user was '" + user + "'");
      }
      if (password != null) {
        throw new IllegalArgumentException(
            "password is only used with an external url (" + ENV_URL + "), but url is unset and a password was given");
      }
    } else {
      if (!url.startsWith(URL_PREFIX)) {
        throw new IllegalArgumentException(
            "url must be a PostgreSQL JDBC url starting with '" + URL_PREFIX + "', was '" + url + "'");
      }
      if (user == null || user.isBlank()) {
        throw new IllegalArgumentException(
            "user (" + ENV_USER + ") must be set with an external url, was " + (user == null ? "null" : "'" + user + "'"));
      }
      if (embeddedPort != 0) {
        // Same reasoning as above: a port for a server we are not going to start is a misunderstanding.
        throw new IllegalArgumentException(
            "embedded port (" + ENV_PORT + ") is only used by the embedded server, but url is set and the port was "
                + embeddedPort);
      }
      password = Objects.requireNonNullElse(password, "");
    }
  }

  /** The embedded server under {@code dataDirectory}, on a free port. */
  public static DatabaseSettings embedded(Path dataDirectory) {
    return new DatabaseSettings(null, null, null, dataDirectory, 0);
  }

  /**
   * Reads ORRERY_DB_URL, ORRERY_DB_USER, ORRERY_DB_PASSWORD, ORRERY_DATA_DIR and ORRERY_DB_PORT. Empty values
   * count as unset, because container and systemd environments routinely define variables as empty.
   */
  public static DatabaseSettings fromEnvironment(Map<String, String> env, Path defaultDataDir) {
    Objects.requireNonNull(env, "env");
    Objects.requireNonNull(defaultDataDir, "defaultDataDir");
    String dataDir = value(env, ENV_DATA_DIR);
    String port = value(env, ENV_PORT);
    int embeddedPort;
    try {
      embeddedPort = port == null ? 0 : Integer.parseInt(port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(ENV_PORT + " must be a port number, was '" + port + "'", e);
    }
    String url = value(env, ENV_URL);
    // A password may legitimately be empty or contain spaces, so it is never trimmed; an empty one only
    // counts as unset for the embedded server, where it has no meaning.
    String password = env.get(ENV_PASSWORD);
    if (url == null && password != null && password.isEmpty()) {
      password = null;
    }
    return new DatabaseSettings(
        url, value(env, ENV_USER), password, dataDir == null ? defaultDataDir : Path.of(dataDir), embeddedPort);
  }

  private static String value(Map<String, String> env, String key) {
    String v = env.get(key);
    return v == null || v.isBlank() ? null : v.trim();
  }

  public boolean embedded() {
    return url == null;
  }

  /** Never prints the password: settings records end up in start-up logs. */
  @Override
  public String toString() {
    return "DatabaseSettings[url=" + url + ", user=" + user + ", password=" + (password == null ? null : "***")
        + ", dataDirectory=" + dataDirectory + ", embeddedPort=" + embeddedPort + "]";
  }
}
