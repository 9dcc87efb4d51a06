package dev.orrery.core.workflow;

import com.samskivert.mustache.BasicCollector;
import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.MustacheException;
import com.samskivert.mustache.Template;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Prompt templates: logic-less Mustache with no HTML escaping (prompts are not HTML), missing values
 * rendered as nothing, maps and lists rendered as compact JSON. Values are looked up in maps and lists
 * only, never through reflection, so a template cannot call methods on what it renders.
 */
final class Templates {
  private static final Mustache.Compiler COMPILER = Mustache.compiler()
      .escapeHTML(false)
      .defaultValue("")
      .withFormatter(Templates::format)
      .withCollector(new PlainDataCollector())
      .withLoader(name -> {
        // Partials are refused when a template is checked; this only guards rendering.
        throw new MustacheException("partials are not supported in prompts: " + name);
      });

  private Templates() {}

  /** @throws MustacheException when the text is not a valid template */
  static Template compile(String source) {
    return COMPILER.compile(source);
  }

  static String render(Template template, EvalContext ctx) {
    return template.execute(ctx.templateScope());
  }

  /**
   * The names a template reads. {@code topLevel} names are resolved against the root scope and are
   * checked; {@code all} also has the names inside sections, which may be relative to the section's
   * value and so are only used to find node references. (jmustache's visitor reports no section ends,
   * hence two passes.)
   */
  record References(List<String> topLevel, List<String> all, List<String> partials) {}

  static References references(Template template) {
    var top = new ArrayList<String>();
    template.visit(new NameVisitor(top, new ArrayList<>(), false));
    var all = new ArrayList<String>();
    var partials = new ArrayList<String>();
    template.visit(new NameVisitor(all, partials, true));
    return new References(List.copyOf(top), List.copyOf(all), List.copyOf(partials));
  }

  private static CharSequence format(Object value) {
    if (value instanceof Map || value instanceof List) return JsonValues.toJson(value);
    return String.valueOf(value);
  }

  private static final class NameVisitor implements Mustache.Visitor {
    private final List<String> names;
    private final List<String> partials;
    private final boolean descend;

    NameVisitor(List<String> names, List<String> partials, boolean descend) {
      this.names = names;
      this.partials = partials;
      this.descend = descend;
    }

    @Override
    public void visitText(String text) {}

    @Override
    public void visitVariable(String name) {
      names.add(name);
    }

    @Override
    public boolean visitInclude(String name) {
      partials.add("{{>" + name + "}}");
      return false;
    }

    @Override
    public boolean visitParent(String name) {
      partials.add("{{<" + name + "}}");
      return false;
    }

    @Override
    public boolean visitSection(String name) {
      names.add(name);
      return descend;
    }

    @Override
    public boolean visitInvertedSection(String name) {
      names.add(name);
      return descend;
    }
  }

  /** Maps, lists and iterables only; the default collector would also reach fields and methods. */
  private static final class PlainDataCollector extends BasicCollector {
    @Override
    public <K, V> Map<K, V> createFetcherCache() {
      return new ConcurrentHashMap<>(); // templates are shared between threads
    }
  }
}
