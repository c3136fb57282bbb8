using Bundler.Layout;

namespace Bundler.Render;

/// <summary>One node's complete file set (binaries by reference, everything else by content) and its units in start order.</summary>
public sealed record NodeTree(string Node, IReadOnlyList<NodeFile> Files, IReadOnlyList<string> Units);

/// <summary>What the render step hands to package: a tree per node, in site order.</summary>
public sealed record RenderResult(IReadOnlyList<NodeTree> Nodes);
