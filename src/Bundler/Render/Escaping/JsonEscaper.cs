namespace Bundler.Render.Escaping;

/// <summary>
/// JSON files (CNI configs, RFC 8259). Inside a string: <c>\\ \"</c> and control characters escaped. Outside strings:
/// an integer or boolean of the model as its literal; a string is refused (the template must put it in quotes).
/// </summary>
public sealed class JsonEscaper : ValueEscaper
{
    public override string Format => "a JSON file";

    protected override string Escape(string value, bool literal, string before, string after)
    {
        if (InString(before))
        {
            return BackslashEscape(value, CStyleEscape);
        }
        if (literal)
            return value;
        throw new ValueRefusedException($"is a string outside quotes in {Format}; put it in a string in the template (\"...\")");
    }

    private static bool InString(string text)
    {
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (inString && text[i] == '\\')
                i++;
            else if (text[i] == '"')
                inString = !inString;
        }
        return inString;
    }
}
