using System.Text.RegularExpressions;

namespace Bundler.Render.Escaping;

/// <summary>
/// Line-based config files read word by word: sysctl.d(5), modules-load.d(5) and pod-routes.conf (read by the
/// installer with <c>read -r subnet via gw</c>). On a comment line (<c>#</c> or <c>;</c> first) a value is carried as
/// is; anywhere else it must be one word of letters, digits and <c>. _ / : @ + , = -</c>, because a space, <c>#</c> or
/// <c>;</c> would shift the words a reader sees or start a comment.
/// </summary>
public sealed partial class LineConfigEscaper : ValueEscaper
{
    public override string Format => "a line-based config file";

    protected override string Escape(string value, bool literal, string before, string after)
    {
        var line = CurrentLine(before).TrimStart();
        if (line.Length > 0 && line[0] is '#' or ';')
        {
            RefuseControls(value, "a comment");
            return value;
        }
        RefuseControls(value, "a value");
        if (!Word().IsMatch(value))
            throw new ValueRefusedException(
                $"is not one word; a value in {Format} is read word by word, so it must be non-empty and hold only letters, digits and . _ / : @ + , = -");
        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9._/:@+,=-]+$")]
    private static partial Regex Word();
}
