using System.Globalization;

namespace Bundler.Layout;

/// <summary>
/// Every name inside a <c>.run</c> file and an artifacts folder, written down once (docs/bundle-format.md). The
/// installer reads the same names: <see cref="HeaderKeys"/> are its variables.
/// </summary>
public static class BundleLayout
{
    public const string ManifestFile = "manifest.json";
    public const string SumsFile = "SHA256SUMS";
    public const string SignatureFile = "SHA256SUMS.sig";
    public const string PublicKeyFile = "signing.pub";
    public const string RunExtension = ".run";

    /// <summary>For auditors and field engineers (SPEC §9): written beside the bundles, listed in SHA256SUMS.</summary>
    public const string SbomFile = "sbom.cdx.json";
    public const string ReportFile = "report.html";
    public const string InstallFile = "INSTALL.txt";
    public static readonly IReadOnlyList<string> AuditFiles = [SbomFile, ReportFile, InstallFile];

    /// <summary>Payload folder the installer reads and never installs: the file table and the node's record.</summary>
    public const string MetaDir = ".kbundle";
    public const string FileTable = MetaDir + "/files.tsv";
    public const string DirTable = MetaDir + "/dirs.tsv";
    public const string NodeRecord = MetaDir + "/node.json";

    /// <summary>The header starts with these two lines; the header hash covers every byte after them.</summary>
    public const string Shebang = "#!/bin/bash\n";
    public const string HeaderHashKey = HeaderKeys.HeaderSha256 + "=";
    public static readonly int HashedFrom = Shebang.Length + HeaderHashKey.Length + 64 + 1;

    /// <summary>Width of the size fields, so the header's length does not depend on the numbers in it.</summary>
    public const int SizeWidth = 12;

    /// <summary>The installer: these files of bundle-templates/installer/, in this order, make the header's script.</summary>
    public static readonly IReadOnlyList<string> InstallerParts =
    [
        "installer/common.sh", "installer/preflight.sh", "installer/journal.sh", "installer/install.sh",
        "installer/units.sh", "installer/etcd.sh", "installer/bootstrap.sh", "installer/health.sh", "installer/uninstall.sh", "installer/main.sh",
    ];

    public static string RunFile(string node) => node + RunExtension;

    public static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    public static string Octal(int mode) => Convert.ToString(mode, 8).PadLeft(4, '0');

    public static UnixFileMode ParseOctal(string text) => (UnixFileMode)Convert.ToInt32(text, 8);

    /// <summary>Path of a node file inside the tar: relative, so <c>tar -C DIR</c> never writes outside DIR.</summary>
    public static string EntryName(string nodePath) => nodePath.TrimStart('/');

    public static string Padded(long value) => value.ToString(CultureInfo.InvariantCulture).PadLeft(SizeWidth, '0');
}

/// <summary>
/// The bundle header's variables, one per line as <c>KEY='value'</c>: package writes them, the installer's functions
/// use them, <c>inspect</c>, <c>verify</c> and <c>diff</c> read them back. What each holds: docs/bundle-format.md.
/// </summary>
public static class HeaderKeys
{
    public const string Prefix = "KB_";

    // Integrity: fixed-width sizes and the hashes the installer checks before anything else.
    public const string HeaderSha256 = "KB_HEADER_SHA256";
    public const string HeaderSize = "KB_HEADER_SIZE";
    public const string PayloadSize = "KB_PAYLOAD_SIZE";
    public const string PayloadSha256 = "KB_PAYLOAD_SHA256";
    /// <summary>Where the hashed part of the header starts, 1-based for <c>tail -c +N</c> (<see cref="BundleLayout.HashedFrom"/> + 1).</summary>
    public const string HashedFrom = "KB_HASHED_FROM";

    // The node and its build.
    public const string Site = "KB_SITE";
    public const string Node = "KB_NODE";
    public const string Ip = "KB_IP";
    public const string Roles = "KB_ROLES";
    public const string Arch = "KB_ARCH";
    public const string Kubernetes = "KB_KUBERNETES";
    public const string ToolVersion = "KB_TOOL_VERSION";
    public const string BuildEpoch = "KB_BUILD_EPOCH";
    /// <summary>The build's serial (SPEC §8); an installer refuses a bundle older than what is installed.</summary>
    public const string BuildSerial = "KB_BUILD_SERIAL";
    /// <summary>When the build with that serial was made (UTC, ISO 8601).</summary>
    public const string BuildTime = "KB_BUILD_TIME";
    public const string FirstMaster = "KB_FIRST_MASTER";
    public const string Hosts = "KB_HOSTS";
    /// <summary>The site's etcd members as <c>name=ip</c> (the health check names the peers it waits for).</summary>
    public const string EtcdMembers = "KB_ETCD_MEMBERS";
    /// <summary><c>yes</c> when this member joins a running cluster (SPEC §8): the installer adds it (<c>member add</c>) before etcd first starts.</summary>
    public const string EtcdJoin = "KB_ETCD_JOIN";
    /// <summary>
    /// Members the running cluster has and this build no longer has, as <c>name=ip</c>, on the remaining members: the first
    /// one rolled out removes them from the cluster while a quorum holds without them.
    /// </summary>
    public const string EtcdRemove = "KB_ETCD_REMOVE";
    /// <summary>The cluster's initial-cluster-token (a snapshot restore starts the members with it).</summary>
    public const string EtcdToken = "KB_ETCD_TOKEN";

    // From the roles table, for this node's components.
    public const string Units = "KB_UNITS";
    public const string DataDirs = "KB_DATA_DIRS";
    /// <summary>Every port the node's components bind, as <c>component:name=number</c>.</summary>
    public const string Ports = "KB_PORTS";
    /// <summary>Commands the node's components need on the host, as <c>component:command:package</c>, separated by <c>;</c>.</summary>
    public const string HostCommands = "KB_HOST_COMMANDS";

    // Names on the node and in the payload the installer uses (NodePaths, the certificate table, BundleLayout).
    public const string StateDir = "KB_STATE_DIR";
    public const string InstallLog = "KB_INSTALL_LOG";
    public const string MetaDir = "KB_META_DIR";
    public const string FileTable = "KB_FILE_TABLE";
    public const string DirTable = "KB_DIR_TABLE";
    public const string BinDir = "KB_BIN_DIR";
    public const string CaCert = "KB_CA_CERT";
    public const string EtcdCaCert = "KB_ETCD_CA_CERT";
    public const string EtcdHealthCert = "KB_ETCD_HEALTH_CERT";
    public const string EtcdHealthKey = "KB_ETCD_HEALTH_KEY";
    public const string AdminConf = "KB_ADMIN_CONF";
    public const string SuperAdminConf = "KB_SUPER_ADMIN_CONF";
    public const string KubeletConf = "KB_KUBELET_CONF";
    public const string RootKubeconfig = "KB_ROOT_KUBECONFIG";
    /// <summary>First master: every manifest it applies once its apiserver is healthy, in order (bootstrap RBAC, then the add-ons).</summary>
    public const string BootstrapManifests = "KB_BOOTSTRAP_MANIFESTS";
    public const string SysctlConf = "KB_SYSCTL_CONF";
    public const string ModulesConf = "KB_MODULES_CONF";
    public const string PodRoutes = "KB_POD_ROUTES";
    public const string ContainerdSocket = "KB_CONTAINERD_SOCKET";
    public const string EtcdDataDir = "KB_ETCD_DATA_DIR";
    public const string EtcdClusterEnv = "KB_ETCD_CLUSTER_ENV";
}
