using Bundler.Configuration;
using Bundler.Pipeline;

namespace Bundler.Pki;

/// <summary>
/// What a build re-issues: a leaf that is missing, whose spec changed (subject, SANs, usages, key algorithm), that
/// expires within <see cref="RenewalWindowDays"/> (when a new one would outlive it), or everything on <c>--renew</c>.
/// A CA is never re-issued: an expired one stops the build, one near its end is warned about.
/// </summary>
internal static class RenewalPolicy
{
    public const int RenewalWindowDays = PkiSettings.RenewalWindowDays;
    public const int CaWarningDays = 90;

    /// <summary>Sets <see cref="PkiEntry.Reason"/> on every entry to (re-)issue.</summary>
    public static void Decide(SiteSpec site, IReadOnlyList<PkiEntry> entries, IReadOnlyDictionary<string, PkiEntry> byId, bool renew, DateTimeOffset now, IBuildReporter reporter)
    {
        foreach (var e in entries)
        {
            if (!e.Exists)
            {
                e.Reason = "new";
                continue;
            }
            if (e.Instance.Spec.IsAuthority)
            {
                var notAfter = new DateTimeOffset(e.Certificate!.NotAfter.ToUniversalTime());
                if (notAfter <= now)
                    throw new UserInputException($"{e.Instance.CertificateFile}: CA '{e.Instance.CommonName}' expired on {notAfter:yyyy-MM-dd}; " +
                                                 "rotate it deliberately (kbundle never replaces a CA on its own)");
                if (notAfter - now < TimeSpan.FromDays(CaWarningDays))
                    reporter.Warning($"CA '{e.Instance.Id}' expires on {notAfter:yyyy-MM-dd} ({(notAfter - now).Days} days); plan its rotation");
                continue;
            }
            if (e.Instance.Spec.Kind == CertificateKind.KeyPair)
                continue;   // no expiry; rotated by hand
            var leafNotAfter = new DateTimeOffset(e.Certificate!.NotAfter.ToUniversalTime());
            var caNotAfter = new DateTimeOffset(byId[e.Instance.Spec.Issuer!].Certificate!.NotAfter.ToUniversalTime());
            if (renew)
                e.Reason = "renew";
            else if (Fingerprints.OfCertificate(e.Certificate) != Fingerprints.OfSpec(e.Instance, site.Pki.KeyAlgorithm))
                e.Reason = "spec changed";
            // Only when a new leaf would outlive the old one: a leaf capped by its CA's end stays put.
            else if (leafNotAfter - now < TimeSpan.FromDays(RenewalWindowDays) && caNotAfter > leafNotAfter)
                e.Reason = $"expires {leafNotAfter:yyyy-MM-dd}";
        }
    }
}
