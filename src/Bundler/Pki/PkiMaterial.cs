using System.Security.Cryptography.X509Certificates;
using Bundler.Configuration;
using Bundler.Layout;

namespace Bundler.Pki;

/// <summary>The loaded PKI of one site, handed out per node strictly by the certificate table's holders.</summary>
public sealed class PkiMaterial
{
    /// <summary>One table instance with its PEM (certificate, or public key for the SA pair) and key.</summary>
    public sealed record Item(CertificateInstance Instance, X509Certificate2? Certificate, string? CertificatePem, string? PublicPem, string KeyPem);

    private readonly SiteSpec _site;
    private readonly Dictionary<string, Item> _byId;

    public PkiMaterial(SiteSpec site, IReadOnlyList<Item> items, string encryptionKeyBase64, IReadOnlyList<string> issued)
    {
        ArgumentNullException.ThrowIfNull(items);
        _site = site;
        Items = items;
        _byId = items.ToDictionary(i => i.Instance.Id);
        EncryptionKeyBase64 = encryptionKeyBase64;
        Issued = issued;
    }

    /// <summary>Every instance of the table for this site, in table order.</summary>
    public IReadOnlyList<Item> Items { get; }

    /// <summary>Ids issued (or re-issued) by the run that produced this material.</summary>
    public IReadOnlyList<string> Issued { get; }

    public Item Get(string id) => _byId[id];

    public string CaCertificatePem => _byId[CertificateTable.Ca].CertificatePem!;

    public string EncryptionKeyBase64 { get; }

    public IReadOnlyList<NodeFile> PkiFilesFor(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var files = new List<NodeFile>();
        foreach (var item in Items.Where(i => i.Instance.Spec.Delivery == Delivery.Files))
        {
            var spec = item.Instance.Spec;
            if (item.Instance.HoldsCertificate(_site, node))
                files.Add(NodeFile.Text(spec.NodePath, item.CertificatePem ?? item.PublicPem!, FileKind.Certificate) with { Restarts = spec.Restarts });
            if (item.Instance.HoldsKey(_site, node))
                files.Add(NodeFile.Text(spec.KeyNodePath!, item.KeyPem, FileKind.PrivateKey) with { Restarts = spec.KeyRestarts });
        }
        return files;
    }

    public Credential ClientCredential(string identity, NodeSpec? node = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(identity);
        var spec = CertificateTable.CredentialRow(identity);
        Item? item;
        if (spec.Per is null)
            item = Items.First(i => i.Instance.Spec == spec);
        else
        {
            if (node is null)
                throw new ArgumentNullException(nameof(node), $"the '{identity}' credential is per node: pass the node");
            item = Items.FirstOrDefault(i => i.Instance.Spec == spec && i.Instance.Owner?.Name == node.Name);
        }
        // Least privilege: a bundle never receives a credential its roles may not hold (issue 4).
        if (node is not null && (item is null || !item.Instance.HoldsKey(_site, node)))
            throw new InvalidOperationException($"least privilege: node '{node.Name}' (roles {Names.Of(node.Roles)}) may not hold the " +
                                                $"'{identity}' credential (holders: {spec.KeyHolders})");
        return new Credential(item!.CertificatePem!, item.KeyPem);
    }

    /// <summary>Certificates a node carries (files and kubeconfig-embedded), for the manifest, inspect and certs.</summary>
    public IReadOnlyList<CertificateRecord> CertificatesFor(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Items.Where(i => i.Certificate is not null && i.Instance.HoldsCertificate(_site, node))
            .Select(i => CertificateRecord.Of(i.Instance.Spec.NodePath, i.Certificate!) with { Id = i.Instance.Id }).ToList();
    }
}
