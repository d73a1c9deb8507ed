using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Purser.Gateway.Tests.Architecture;

/// <summary>
/// The folders of Purser.Gateway depend one way: a cycle between two feature folders means neither can be understood
/// or changed alone. Every type reference in signatures and IL is read with Mono.Cecil, grouped by folder (the
/// namespace segment after <c>Purser.Gateway</c>), and any strongly connected group of folders fails the test.
/// </summary>
public sealed class FolderDependencyTests
{
    private const string Root = "Purser.Gateway";

    [Fact]
    public void Folders_of_the_gateway_have_no_dependency_cycle()
    {
        var graph = FolderGraph();
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).Select(c => string.Join(" <-> ", c.Order(StringComparer.Ordinal))).ToList();
        Assert.True(cycles.Count == 0, "Folder cycles:\n" + string.Join("\n", cycles) + "\n\nEdges:\n" + string.Join("\n", graph.SelectMany(kv => kv.Value.Select(to => kv.Key + " -> " + to))));
    }

    internal static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var path = typeof(Purser.Gateway.Hosting.GatewayHost).Assembly.Location;
        using var module = ModuleDefinition.ReadModule(path);
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in module.GetTypes())
        {
            var from = FolderOf(type);
            if (from is null)
            {
                continue;
            }

            var edges = graph.TryGetValue(from, out var set) ? set : graph[from] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var referenced in References(type))
            {
                if (FolderOf(referenced) is { } to && to != from)
                {
                    edges.Add(to);
                }
            }
        }

        return graph;
    }

    private static string? FolderOf(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        var ns = type.Namespace;
        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[(Root.Length + 1)..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static IEnumerable<TypeReference> References(TypeDefinition type)
    {
        if (type.BaseType is { } baseType)
        {
            foreach (var t in Expand(baseType))
            {
                yield return t;
            }
        }

        foreach (var i in type.Interfaces)
        {
            foreach (var t in Expand(i.InterfaceType))
            {
                yield return t;
            }
        }

        foreach (var field in type.Fields)
        {
            foreach (var t in Expand(field.FieldType))
            {
                yield return t;
            }
        }

        foreach (var method in type.Methods)
        {
            foreach (var t in Expand(method.ReturnType))
            {
                yield return t;
            }

            foreach (var p in method.Parameters)
            {
                foreach (var t in Expand(p.ParameterType))
                {
                    yield return t;
                }
            }

            if (!method.HasBody)
            {
                continue;
            }

            foreach (var v in method.Body.Variables)
            {
                foreach (var t in Expand(v.VariableType))
                {
                    yield return t;
                }
            }

            foreach (var instruction in method.Body.Instructions)
            {
                var operand = instruction.Operand switch
                {
                    TypeReference t => t,
                    MemberReference m => m.DeclaringType,
                    _ => null,
                };
                if (operand is not null)
                {
                    foreach (var t in Expand(operand))
                    {
                        yield return t;
                    }
                }

                if (instruction.Operand is MethodReference called)
                {
                    foreach (var t in Expand(called.ReturnType))
                    {
                        yield return t;
                    }

                    if (called is GenericInstanceMethod generic)
                    {
                        foreach (var argument in generic.GenericArguments)
                        {
                            foreach (var t in Expand(argument))
                            {
                                yield return t;
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>A type and the types inside it (generic arguments, element types).</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference type)
    {
        yield return type;
        if (type is GenericInstanceType generic)
        {
            foreach (var argument in generic.GenericArguments)
            {
                foreach (var t in Expand(argument))
                {
                    yield return t;
                }
            }
        }

        if (type is TypeSpecification spec && spec.ElementType is { } element && !ReferenceEquals(element, type))
        {
            foreach (var t in Expand(element))
            {
                yield return t;
            }
        }
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, HashSet<string>> graph)
    {
        var index = 0;
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<List<string>>();

        void Visit(string v)
        {
            indices[v] = low[v] = index++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.TryGetValue(v, out var edges) ? edges : [])
            {
                if (!indices.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], indices[w]);
                }
            }

            if (low[v] == indices[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                result.Add(component);
            }
        }

        foreach (var v in graph.Keys.ToList())
        {
            if (!indices.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return result;
    }
}
