package dev.orrery.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.orrery.core.port.ToolSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ToolSandboxTest {

  @Test
  void theReferenceConfigBuildsEveryBuiltInTool() {
    try (ToolSandbox tools = ToolSandbox.fromConfig(ConfigFactory.load())) {
      List<String> names = tools.port().tools().stream().map(ToolSpec::name).toList();
      assertEquals(List.of("calculator", "http_fetch", "python", "shell"), names);
      tools.port().tools().forEach(s -> assertEquals("object", s.parameters().get("type").asText(), s.name()));
    }
  }

  @Test
  void switchedOffToolsAreNotOffered() {
    try (ToolSandbox tools = ToolSandbox.fromConfig(TestTools.config("orrery.tools.enabled = [calculator]"))) {
      assertEquals(List.of("calculator"), tools.port().tools().stream().map(ToolSpec::name).toList());
      assertEquals(ToolErrors.UNKNOWN_TOOL,
          TestTools.call(tools.port(), "python", java.util.Map.of("code", "print(1)")).errorCode());
    }
  }

  @Test
  void badSettingsAreRefusedNamingTheValue() {
    var unknown = assertThrows(IllegalArgumentException.class,
        () -> ToolSandbox.fromConfig(TestTools.config("orrery.tools.enabled = [calculator, telnet]")));
    assertTrue(unknown.getMessage().contains("telnet"), unknown.getMessage());
    var root = assertThrows(IllegalArgumentException.class,
        () -> TestTools.settings("orrery.tools.process.uid = 0"));
    assertTrue(root.getMessage().contains("process.uid"), root.getMessage());
    var pages = assertThrows(IllegalArgumentException.class,
        () -> TestTools.settings("orrery.tools.wasm.max-memory-pages = 0"));
    assertTrue(pages.getMessage().contains("max-memory-pages"), pages.getMessage());
  }
}
