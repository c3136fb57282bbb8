object bb14dabeb7185bb72c8c86735d090dcb20f36587
type commit
tag v1.4.3
tagger Aleksa Sarai <cyphar@cyphar.com> 1781370831 +0200

runc 1.4.3 -- "The best way to irritate him is to feed his grandmother to the Ravenous Bugblatter Beast of Traal."

This is the third patch release of the 1.4.z series of runc. Among some
performance improvements and bugfixes, it includes a fix for a
low-severity vulnerability (CVE-2026-41579) and users are encouraged to
update. As it was a low-severity vulnerability and it was reported by
mutiple people, we decided to release it publicly with NO EMBARGO.

Security:

- CVE-2026-41579 allowed a malicious image with a /dev symlink to have
  limited write access to the host filesystem in ways that our analysis
  indicates was too limited to be problematic in practice. This bug was
  very similar to those fixed in CVE-2025-31133, CVE-2025-52565,
  CVE-2025-31133 and was simply missed at the time when we hardened the
  rootfs preparation code. We have conducted a deeper audit and not
  found any other problematic cases.

Fixed:

- Various integration test improvements. (#5222, #5237, #5226, #5229,
  #5239, #5249, #5269, #5287, #5295, #5304)

Changed:

- When masking directories with maskPaths, runc will now re-use a single
  tmpfs instance (which is not writeable) to reduce the number tmpfs
  superblocks that need to be reaped when containers die (in particular,
  Kubernetes applies masks to per-CPU sysfs directories which get
  expensive quickly). (#5275, #5281)

Thanks to the following contributors for making this release possible:

 * Akihiro Suda <akihiro.suda.cz@hco.ntt.co.jp>
 * Aleksa Sarai <cyphar@cyphar.com>
 * Ayato Tokubi <atokubi@redhat.com>
 * Davanum Srinivas <davanum@gmail.com>
 * Kevin Berry <kpberry11@gmail.com>
 * Kir Kolyshkin <kolyshkin@gmail.com>
 * Li Fubang <lifubang@acmcoder.com>
 * Ricardo Branco <rbranco@suse.de>
 * Rodrigo Campos Catelin <rodrigo@amutable.com>
 * Tianon Gravi <admwiggin@gmail.com>

Signed-off-by: Aleksa Sarai <cyphar@cyphar.com>
