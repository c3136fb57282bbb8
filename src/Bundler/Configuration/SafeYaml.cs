using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>
/// Loads YAML into the representation model only after a flat pass over its events proved it is not nested absurdly
/// deep: the model is built recursively, and 50 000 levels of <c>[[[…]]]</c> would overflow the stack, which no
/// catch survives. Site and lock files nest a handful of levels.
/// </summary>
public static class SafeYaml
{
    public const int MaxDepth = 64;

    /// <summary>Loads <paramref name="text"/>; a syntax error or too deep a nesting is a <see cref="YamlException"/> with its place.</summary>
    public static YamlStream Load(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart or SequenceStart:
                    if (++depth > MaxDepth)
                        throw new YamlException(parser.Current.Start, parser.Current.End,
                            $"nested deeper than {MaxDepth} levels; a site or lock file needs a few");
                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }
        }
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream;
    }
}
