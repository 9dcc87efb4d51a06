package dev.orrery.core.workflow;

import com.google.protobuf.ByteString;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelSourceLocation;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The CEL side of a workflow: one environment per workflow (its node ids are variables), compiled
 * {@code when} and {@code over} expressions, and the free identifiers each one reads, which become
 * implicit dependencies.
 */
final class Expressions {
  /** Words CEL reserves; a node id spelled like one could not be referred to in an expression. */
  static final Set<String> CEL_RESERVED = Set.of("as", "break", "const", "continue", "else", "false", "for",
      "function", "if", "import", "in", "let", "loop", "package", "namespace", "null", "return", "true", "var",
      "void", "while");

  // Conditions must stay cheap however large the data: nested comprehensions over big lists are cut off.
  private static final CelOptions OPTIONS = CelOptions.current()
      .enableHeterogeneousNumericComparisons(true)
      .comprehensionMaxIterations(100_000)
      .maxExpressionCodePointSize(10_000)
      .build();

  private final Cel cel;

  Expressions(Collection<String> nodeIds) {
    var builder = CelFactory.standardCelBuilder()
        .setOptions(OPTIONS)
        .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
        .addVar("inputs", SimpleType.DYN)
        .addVar("item", SimpleType.DYN)
        .addVar("index", SimpleType.DYN);
    for (String id : nodeIds) builder.addVar(id, SimpleType.DYN);
    this.cel = builder.build();
  }

  /** A checked expression ready to run, or the issues that stopped it. */
  record Compiled(
      String source,
      CelRuntime.Program program,
      CelKind resultKind,
      Set<String> freeIdentifiers,
      Set<String> inputFields,
      List<String> errors,
      boolean onlyUndeclared) {

    boolean ok() {
      return errors.isEmpty();
    }
  }

  Compiled compile(String source) {
    CelValidationResult result = cel.compile(source);
    if (result.hasError()) {
      List<String> errors = result.getErrors().stream().map(Expressions::describe).collect(Collectors.toList());
      boolean undeclared = result.getErrors().stream().allMatch(i -> i.getMessage().startsWith("undeclared reference"));
      return new Compiled(source, null, null, Set.of(), Set.of(), errors, undeclared);
    }
    try {
      CelAbstractSyntaxTree ast = result.getAst();
      var idents = new LinkedHashSet<String>();
      var fields = new LinkedHashSet<String>();
      collect(ast.getExpr(), Set.of(), idents, fields);
      return new Compiled(source, cel.createProgram(ast), ast.getResultType().kind(),
          Collections.unmodifiableSet(idents), Collections.unmodifiableSet(fields), List.of(), false);
    } catch (CelValidationException | CelEvaluationException e) {
      return new Compiled(source, null, null, Set.of(), Set.of(), List.of(e.getMessage()), false);
    }
  }

  /** Runs a compiled expression; CEL's own values come back as plain Java values. */
  static Object evaluate(Compiled expr, EvalContext ctx) throws CelEvaluationException {
    return fromCel(expr.program().eval(ctx.celVariables()));
  }

  private static String describe(CelIssue issue) {
    CelSourceLocation at = issue.getSourceLocation();
    if (at == null || at.equals(CelSourceLocation.NONE)) return issue.getMessage();
    String where = at.getLine() > 1 ? "line " + at.getLine() + ", column " : "column ";
    return issue.getMessage() + " (at " + where + (at.getColumn() + 1) + ")";
  }

  /**
   * Collects identifiers that are not bound by an enclosing comprehension (so {@code xs.map(a, a + 1)}
   * does not make a node named {@code a} a dependency), and the fields read directly off {@code inputs}.
   */
  private static void collect(CelExpr e, Set<String> bound, Set<String> idents, Set<String> inputFields) {
    switch (e.getKind()) {
      case IDENT:
        if (!bound.contains(e.ident().name())) idents.add(e.ident().name());
        break;
      case SELECT:
        CelExpr operand = e.select().operand();
        if (operand.getKind() == CelExpr.ExprKind.Kind.IDENT && operand.ident().name().equals("inputs")
            && !bound.contains("inputs")) {
          inputFields.add(e.select().field());
        }
        collect(operand, bound, idents, inputFields);
        break;
      case CALL:
        e.call().target().ifPresent(t -> collect(t, bound, idents, inputFields));
        for (CelExpr arg : e.call().args()) collect(arg, bound, idents, inputFields);
        break;
      case LIST:
        for (CelExpr el : e.list().elements()) collect(el, bound, idents, inputFields);
        break;
      case STRUCT:
        for (CelExpr.CelStruct.Entry en : e.struct().entries()) collect(en.value(), bound, idents, inputFields);
        break;
      case MAP:
        for (CelExpr.CelMap.Entry en : e.map().entries()) {
          collect(en.key(), bound, idents, inputFields);
          collect(en.value(), bound, idents, inputFields);
        }
        break;
      case COMPREHENSION:
        CelExpr.CelComprehension c = e.comprehension();
        collect(c.iterRange(), bound, idents, inputFields);
        collect(c.accuInit(), bound, idents, inputFields);
        var inner = new HashSet<>(bound);
        inner.add(c.iterVar());
        if (!c.iterVar2().isEmpty()) inner.add(c.iterVar2());
        inner.add(c.accuVar());
        collect(c.loopCondition(), inner, idents, inputFields);
        collect(c.loopStep(), inner, idents, inputFields);
        collect(c.result(), inner, idents, inputFields);
        break;
      default:
        break;
    }
  }

  /**
   * CEL's values as plain values: its null, unsigned ints and bytes have JSON forms; timestamps and
   * durations do not, and are refused rather than turned into protobuf text.
   */
  static Object fromCel(Object v) {
    if (v == null || v instanceof dev.cel.common.values.NullValue || v instanceof com.google.protobuf.NullValue) {
      return null;
    }
    if (v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) return v;
    if (v instanceof Map) {
      var m = new LinkedHashMap<String, Object>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) m.put(String.valueOf(fromCel(e.getKey())), fromCel(e.getValue()));
      return Collections.unmodifiableMap(m);
    }
    if (v instanceof Collection) {
      var l = new ArrayList<Object>();
      for (Object o : (Collection<?>) v) l.add(fromCel(o));
      return Collections.unmodifiableList(l);
    }
    if (v instanceof com.google.common.primitives.UnsignedLong) {
      var u = (com.google.common.primitives.UnsignedLong) v;
      return u.compareTo(com.google.common.primitives.UnsignedLong.valueOf(Long.MAX_VALUE)) <= 0
          ? (Object) u.longValue() : (Object) u.doubleValue();
    }
    if (v instanceof ByteString) return Base64.getEncoder().encodeToString(((ByteString) v).toByteArray());
    if (v instanceof Number) return JsonValues.freeze(v);
    throw new IllegalArgumentException("a value of type " + v.getClass().getSimpleName() + " has no JSON form");
  }
}
