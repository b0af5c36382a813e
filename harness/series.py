# SPDX-License-Identifier: GPL-2.0
"""The series as maintainers receive it: git format-patch, and its checks.

patches/series groups its entries into patches ("## patches/msg/NAME"
lines). write() applies each group onto the base in a scratch clone of
build/linux, commits it with its message, and writes out/series/ with
git format-patch and a cover letter (patches/cover-letter.txt, with the
README's results table). check() runs checkpatch --strict on every patch,
kernel-doc on the touched C files, git am of the series onto a pristine
extraction of the base (build/pristine/linux) with checks that the result
holds every kernel-tree file of this repository, and get_maintainer.pl;
build_pristine() builds that tree; build_prefixes() applies the patches
one by one to another pristine extraction and builds every prefix."""

import os
import re
import shutil

from . import demo, initramfs, kernel
from .common import BUILD, OUT, REPO, HarnessError, ensure_dir, run, say

SCRATCH = os.path.join(BUILD, "series-tree")
AM_TREE = os.path.join(BUILD, "series-am")
SERIES_OUT = os.path.join(OUT, "series")
AUTHOR = "Free Page Reporting Developers"
EMAIL = "pr-dev@example.org"
# Fixed identity and dates: the same series gives the same files.
GIT_ENV = {
    "GIT_AUTHOR_NAME": AUTHOR, "GIT_AUTHOR_EMAIL": EMAIL,
    "GIT_COMMITTER_NAME": AUTHOR, "GIT_COMMITTER_EMAIL": EMAIL,
    "GIT_AUTHOR_DATE": "2026-11-24T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-11-24T12:00:00+00:00",
}


def _git(tree, *args, check=True):
    env = dict(os.environ, **GIT_ENV)
    p = run(["git", "-C", tree] + list(args), check=False, env=env)
    if check and p.returncode != 0:
        raise HarnessError(f"git {' '.join(args[:3])} in {tree} failed:\n"
                           + (p.stderr or p.stdout)[-1500:])
    return p


def _fresh_clone(path):
    shutil.rmtree(path, ignore_errors=True)
    # --shared: the objects stay in build/linux; nothing is copied.
    run(["git", "clone", "-q", "--shared", "--no-checkout", kernel.TREE,
         path])
    _git(path, "checkout", "-q", "--detach", "base")


def _results_table():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- bench:start -->\n(.*?)<!-- bench:end -->", text,
                  re.S)
    return m.group(1).strip() if m else "(no results table in README.md)"


def write():
    """Commit every group onto the base; write out/series/. Returns the
    list of patch files (cover letter first)."""
    info = kernel.prepare_base()
    groups = kernel.read_groups()
    staged = kernel.stage_contents(groups)
    _fresh_clone(SCRATCH)
    i = 0
    for msg, entries in groups:
        for name, full in entries:
            kernel.apply_entry(SCRATCH, name, full, info["version"],
                               kernel.staged_for(staged, i))
            i += 1
        # -f: Debian's top-level .gitignore ("/*") hides every new file
        # from a plain "git add -A". The scratch tree holds no build
        # output (builds use O=), so everything unrecorded is the series.
        _git(SCRATCH, "add", "-A", "-f")
        with open(msg) as f:
            text = f.read().rstrip("\n")
        text += f"\n\nSigned-off-by: {AUTHOR} <{EMAIL}>\n"
        msgfile = os.path.join(BUILD, "series-msg.txt")
        with open(msgfile, "w") as f:
            f.write(text)
        _git(SCRATCH, "commit", "-q", "-F", msgfile)
    shutil.rmtree(SERIES_OUT, ignore_errors=True)
    ensure_dir(SERIES_OUT)
    # -B: a rewritten file (mm/page_reporting.c) reads as the old one
    # removed and the new one added, not as interleaved hunks.
    _git(SCRATCH, "format-patch", "-q", "-B", "--cover-letter",
         "--base=base", "--thread=shallow", "-o", SERIES_OUT, "base..HEAD")
    files = sorted(os.path.join(SERIES_OUT, f)
                   for f in os.listdir(SERIES_OUT) if f.endswith(".patch"))
    with open(os.path.join(REPO, "patches", "cover-letter.txt")) as f:
        subject, _, body = f.read().partition("\n")
    body = body.strip("\n").replace("@@RESULTS@@", _results_table())
    with open(files[0]) as f:
        cover = f.read()
    cover = cover.replace("*** SUBJECT HERE ***", subject.strip())
    cover = cover.replace("*** BLURB HERE ***", body)
    with open(files[0], "w") as f:
        f.write(cover)
    say(f"    {len(files) - 1} patches and a cover letter in {SERIES_OUT} "
        f"(base: Linux {info['version']})")
    return files


def _checkpatch(path):
    # The base is Debian's source tarball, without mainline's history:
    # checkpatch cannot look up the commit a Fixes: tag names (it still
    # checks the tag's form).
    p = run(["perl", os.path.join(kernel.TREE, "scripts/checkpatch.pl"),
             "--strict", "--no-color", "--ignore", "UNKNOWN_COMMIT_ID",
             path], check=False)
    m = re.search(r"total: (\d+) errors, (\d+) warnings, (\d+) checks",
                  p.stdout)
    if not m:
        raise HarnessError(f"checkpatch gave no totals for {path}:\n"
                           + (p.stdout + p.stderr)[-1000:])
    found = [ln for ln in p.stdout.splitlines()
             if re.match(r"^(ERROR|WARNING|CHECK):", ln)]
    return tuple(int(x) for x in m.groups()), found


FILE_PATH_CHANGES = ("WARNING: added, moved or deleted file(s), does "
                     "MAINTAINERS need updating?")


def _new_files(path):
    """The files the patch at @path adds."""
    with open(path) as f:
        text = f.read()
    return re.findall(r"^diff --git a/(\S+) b/\S+\nnew file mode", text,
                      re.M)


def _unmaintained(files):
    """Of @files (paths in the scratch tree), those that no MAINTAINERS
    entry gives a maintainer or supporter."""
    out = []
    for f in files:
        p = run(["perl", os.path.join(SCRATCH, "scripts/get_maintainer.pl"),
                 "--no-git", "--no-git-fallback", "-f", f], check=False,
                cwd=SCRATCH)
        if not re.search(r"\((maintainer|supporter):", p.stdout):
            out.append(f)
    return out


def _kernel_doc(tree, files):
    """kernel-doc warnings of @files in @tree, without line numbers."""
    files = [f for f in files if os.path.exists(os.path.join(tree, f))]
    if not files:
        return []
    p = run(["perl", os.path.join(tree, "scripts/kernel-doc"), "-none",
             "-Wall"] + files, check=False, cwd=tree)
    return [re.sub(r":\d+:", ":", ln) for ln in
            (p.stdout + p.stderr).splitlines() if ln.strip()]


# Files a reviewer reads apart from the code: tests and documentation.
NOT_CODE = ("Documentation/", "tools/testing/", "mm/tests/")


def code_lines(path):
    """(inserted, deleted) lines of the patch at @path outside NOT_CODE."""
    ins = dele = 0
    code = False
    with open(path) as f:
        for ln in f:
            if ln.startswith("diff --git a/"):
                code = not ln[len("diff --git a/"):].startswith(NOT_CODE)
            elif not code or ln.startswith(("+++ ", "--- ")):
                continue
            elif ln.startswith("+"):
                ins += 1
            elif ln.startswith("-"):
                dele += 1
    return ins, dele


def check(files):
    """Return [(name, ok, detail)] for every gate."""
    out = []
    # What each patch asks a reviewer to read: reported, not a gate.
    for path in files[1:]:
        ins, dele = code_lines(path)
        say(f"    {os.path.basename(path)}: +{ins} -{dele} lines outside "
            "tests and documentation")
    for path in files[1:]:
        (e, w, c), found = _checkpatch(path)
        detail = (f"{e} errors, {w} warnings, {c} checks"
                  + (": " + "; ".join(found) if found else ""))
        # checkpatch asks whenever a patch adds a file without touching
        # MAINTAINERS; an entry that already covers the file answers it.
        if FILE_PATH_CHANGES in found:
            added = _new_files(path)
            orphans = _unmaintained(added)
            if not orphans:
                w -= 1
                detail += (f" (MAINTAINERS already covers "
                           f"{', '.join(added)})")
            else:
                detail += f" (no maintainer for {', '.join(orphans)})"
        out.append((f"checkpatch --strict {os.path.basename(path)}",
                    e == 0 and w == 0, detail))
    # kernel-doc on every C file the series touches, in its final state,
    # against the same files in the base: only new warnings count.
    p = _git(SCRATCH, "diff", "--name-only", "base", "HEAD")
    touched = [f for f in p.stdout.split() if re.search(r"\.[ch]$", f)
               and not f.startswith("tools/")]
    _fresh_clone(AM_TREE)
    now = _kernel_doc(SCRATCH, touched)
    before = _kernel_doc(AM_TREE, touched)
    new = [w for w in now if w not in before]
    out.append((f"kernel-doc -none -Wall on {len(touched)} touched files",
                not new, "; ".join(new[:10]) or
                f"no new warning ({len(before)} in the base files)"))
    out += pristine_am(files)
    # Every patch has someone to send it to.
    nobody = []
    for path in files[1:]:
        p = run(["perl", os.path.join(SCRATCH, "scripts/get_maintainer.pl"),
                 "--no-git", "--no-git-fallback", path], check=False,
                cwd=SCRATCH)
        if p.returncode != 0 or not p.stdout.strip():
            nobody.append(os.path.basename(path))
    out.append(("get_maintainer.pl names recipients for every patch",
                not nobody, "none for " + ", ".join(nobody) if nobody else
                f"{len(files) - 1} patches"))
    return out


# What a user of the series starts from: the base extracted anew (never a
# tree that was built or patched before), recorded in git, the series
# applied with git am. Its objects sit two levels below it, as
# build/obj/NAME sits below build/: the path from the objects to the sources
# is the same (../../linux), so ccache (CCACHE_BASEDIR) finds what the
# build of build/linux compiled.
PRISTINE = os.path.join(BUILD, "pristine")
PRISTINE_TREE = os.path.join(PRISTINE, "linux")
PRISTINE_OBJ = os.path.join(PRISTINE, "obj", "am")


def extract_pristine():
    """Extract the base anew into build/pristine/linux."""
    info = kernel.base_info()
    shutil.rmtree(PRISTINE, ignore_errors=True)
    ensure_dir(PRISTINE)
    src = info["source"]
    kernel.extract_base(PRISTINE_TREE, src["path"] if src["kind"] == "tree"
                        else None, log=os.path.join(BUILD, "logs",
                                                    "pristine.log"))


def kernel_tree_files(tops):
    """This repository's files in the kernel-tree layout: those under one
    of the top-level directories @tops of the base tree (mm/, ...)."""
    p = run(["git", "-C", REPO, "ls-files", "--cached", "--others",
             "--exclude-standard"])
    return sorted(f for f in p.stdout.split()
                  if "/" in f and f.split("/", 1)[0] in tops
                  and os.path.exists(os.path.join(REPO, f)))


def pristine_am(files):
    """git am of the series onto a pristine extraction of the base; the
    result must hold every kernel-tree file of this repository as it is
    here, and be the tree that the series' scratch commits made.
    Returns [(name, ok, detail)]."""
    extract_pristine()
    p = _git(PRISTINE_TREE, "am", "-q", *files[1:], check=False)
    out = [("git am of the series onto a pristine extraction of the base",
            p.returncode == 0, (p.stderr or p.stdout).strip()[-500:] or
            f"{len(files) - 1} patches applied")]
    if p.returncode != 0:
        return out
    listed = {name for _, entries in kernel.read_groups()
              for name, _ in entries}
    mine = kernel_tree_files(set(_git(kernel.TREE, "ls-tree", "--name-only",
                                      "base").stdout.split()))
    unlisted = [f for f in mine if f not in listed]
    out.append(("every kernel-tree file of the repository is in "
                "patches/series", not unlisted,
                "not listed: " + ", ".join(unlisted) if unlisted else
                f"{len(mine)} files"))
    wrong = []
    for f in mine:
        q = run(["git", "-C", PRISTINE_TREE, "show", f"HEAD:{f}"],
                check=False)
        with open(os.path.join(REPO, f), errors="replace") as fh:
            if q.returncode != 0 or q.stdout != fh.read():
                wrong.append(f + (" (missing)" if q.returncode else
                                  " (differs)"))
    out.append(("the git am tree holds every kernel-tree file as written",
                not wrong, ", ".join(wrong) or f"{len(mine)} files"))
    # The same tree as the scratch commits, which kernel-doc reads:
    # compare the tree objects.
    am_tree = _git(PRISTINE_TREE, "rev-parse", "HEAD^{tree}").stdout.strip()
    scratch = _git(SCRATCH, "rev-parse", "HEAD^{tree}").stdout.strip()
    detail = f"tree {am_tree[:12]}"
    if am_tree != scratch:
        _git(PRISTINE_TREE, "fetch", "-q", SCRATCH, "HEAD")
        detail = _git(PRISTINE_TREE, "diff", "--stat", "HEAD",
                      "FETCH_HEAD").stdout.strip()[-800:]
    out.append(("the git am tree is the tree the series was written from",
                am_tree == scratch, detail))
    return out


def build_pristine():
    """Build the git am tree with the guest configuration (KUnit on);
    returns (bzImage, initramfs) whose kselftests come from that tree."""
    log = os.path.join(BUILD, "logs", "pristine.log")
    kernel.configure("ours", [kernel.FRAGMENT], log, tree=PRISTINE_TREE,
                     obj=PRISTINE_OBJ)
    bz = kernel.make_bzimage(PRISTINE_TREE, PRISTINE_OBJ, "git am", log)
    initrd = initramfs.build(PRISTINE_TREE,
                             os.path.join(PRISTINE, "initramfs.cpio"),
                             selftests_from=PRISTINE_TREE)
    return bz, initrd


def build_prefixes(files, initrd=None):
    """Build the series after every patch with the guest configuration,
    each patch applied with git am to a pristine extraction of the base;
    with @initrd, boot every prefix whose patch changes the engine and
    check that it reports. Stops at the first failure. Returns
    [(check, ok)]."""
    log = os.path.join(BUILD, "logs", "series-prefixes.log")
    ensure_dir(os.path.dirname(log))
    extract_pristine()
    obj = ensure_dir(os.path.join(PRISTINE, "obj", "prefix"))
    results = []
    for i, path in enumerate(files[1:], 1):
        name = os.path.basename(path)
        with open(log, "a") as f:
            f.write(f"# prefix {i}: {name}\n")
        p = _git(PRISTINE_TREE, "am", "-q", path, check=False)
        if p.returncode != 0:
            results.append((name, False))
            say(f"    prefix {i} ({name}): git am FAILS: "
                + (p.stderr or p.stdout).strip()[-300:])
            break
        # Configured anew at every prefix: an option that a patch adds
        # (the KUnit suite's) is then set as the fragment asks.
        stamp = os.path.join(obj, ".pr-fragment")
        if os.path.exists(stamp):
            os.unlink(stamp)
        kernel.configure("ours", [kernel.FRAGMENT], log, tree=PRISTINE_TREE,
                         obj=obj, only_known=True)
        try:
            bz = kernel.make_bzimage(PRISTINE_TREE, obj, f"prefix {i}", log)
            ok = True
        except HarnessError:
            ok = False
        results.append((name, ok))
        say(f"    prefix {i} ({name}): "
            + ("builds" if ok else f"FAILS, see {log}"))
        if ok and initrd and _changes_engine(path):
            ok = _prefix_returns(i, bz, initrd)
            results.append((f"{name}: boots and reports", ok))
        if not ok:
            break
    return results


def _changes_engine(path):
    """Does the patch at @path change the reporting engine?"""
    with open(path) as f:
        return "\n+++ b/mm/page_reporting.c\n" in f.read()


def _prefix_returns(i, bz, initrd):
    """Boot the kernel of prefix @i, free 512 MiB of its 1 GiB, and see
    90% of it back on the host within 30 s (the engine reports at that
    prefix; the time is not judged). The guest's userspace is the
    harness's own initramfs @initrd: the demo job needs no kselftest."""
    res = demo.run(bz, initrd, f"prefix{i}", f"prefix {i}", mem_mib=1024,
                   mib=512, limit=30)
    ok = res.t90 is not None
    say(f"    prefix {i}: " + ("90% of the freed memory came back" if ok
                               else "the freed memory did NOT come back"))
    return ok


# The C files of the series that the guest configuration compiles; each is
# checked with W=1 and sparse in the baseline and in the series.
WARN_OBJECTS = ["mm/page_reporting.o", "mm/page_alloc.o", "mm/sparse.o",
                "drivers/virtio/virtio_balloon.o"]


def _warnings(variant, log):
    """W=1 and sparse (C=2: check even what is up to date) warnings of
    WARN_OBJECTS in @variant's object tree, without line numbers."""
    kernel.build(variant)
    obj = kernel.obj_dir(variant)
    env = dict(os.environ, **kernel.BUILD_ENV)
    p = run(["make", "-C", kernel.TREE, f"O={obj}", f"ARCH={kernel.ARCH}",
             "CC=ccache gcc", "HOSTCC=ccache gcc", "W=1", "C=2",
             "CHECK=sparse"] + WARN_OBJECTS, check=False, env=env)
    with open(log, "a") as f:
        f.write(f"# {variant}: make W=1 C=2 {' '.join(WARN_OBJECTS)}\n"
                + p.stdout + p.stderr)
    if p.returncode != 0:
        raise HarnessError(f"make W=1 C=2 failed for {variant}; see {log}")
    found = []
    for ln in (p.stdout + p.stderr).splitlines():
        m = re.match(r"^(?:\S*/)?((?:mm|drivers|include|arch)/\S+?):\d+:"
                     r"(?:\d+:)? (warning|error): (.*)$", ln)
        if m:
            found.append(f"{m.group(1)}: {m.group(2)}: {m.group(3)}")
    return found


def warnings_over_baseline():
    """[(file, ok, detail)]: W=1 and sparse warnings the series adds."""
    log = os.path.join(BUILD, "logs", "series-warnings.log")
    ensure_dir(os.path.dirname(log))
    open(log, "w").close()
    base = _warnings("baseline", log)
    ours = _warnings("ours", log)
    out = []
    for o in WARN_OBJECTS:
        src = o[:-2] + ".c"
        b = [w for w in base if w.startswith(src + ":")]
        s = [w for w in ours if w.startswith(src + ":")]
        new = [w for w in s if w not in b]
        out.append((src, not new, f"{len(b)} in the baseline, {len(s)} with "
                    f"the series, new: {'; '.join(new[:5]) or 'none'}"))
    # Headers: warnings reported in a header the series touches.
    hb = {w for w in base if w.startswith("include/")}
    new = [w for w in ours if w.startswith("include/") and w not in hb]
    out.append(("headers", not new, "new: " + ("; ".join(new[:5]) or "none")))
    return out


DOCS_BASE = os.path.join(BUILD, "series-docs-base")
# The documentation the series touches lives in these Sphinx directories
# (mm: free_page_reporting.rst; admin-guide: the kernel parameters and
# the ABI files, through abi-testing.rst).
SPHINXDIRS = "mm admin-guide"


def _htmldocs(tree, obj, log):
    """Sphinx's warnings, without the tree's and object tree's paths and
    without line numbers."""
    ensure_dir(obj)
    p = run(["make", "-C", tree, f"O={obj}", f"SPHINXDIRS={SPHINXDIRS}",
             "SPHINXOPTS=-j2", "htmldocs"], check=False)
    with open(log, "a") as f:
        f.write(f"# {tree}: make SPHINXDIRS='{SPHINXDIRS}' htmldocs\n"
                + p.stdout + p.stderr)
    if p.returncode != 0:
        raise HarnessError(f"make htmldocs failed in {tree}; see {log}")
    found = set()
    for ln in (p.stdout + p.stderr).splitlines():
        # A partial build (SPHINXDIRS) cannot resolve references to
        # documents outside it; those exist in a full build.
        m = re.search(r"unknown document: '/?([^']+)'", ln)
        if m and os.path.exists(os.path.join(tree, "Documentation",
                                             m.group(1) + ".rst")):
            continue
        if re.search(r"WARNING|ERROR", ln):
            ln = ln.replace(obj + "/", "").replace(tree + "/", "")
            found.add(re.sub(r":\d+:", ":", ln))
    return found


def docs_over_baseline():
    """[(name, ok, detail)]: Sphinx warnings the series adds to the
    documentation directories it touches (needs the series written)."""
    log = os.path.join(BUILD, "logs", "series-htmldocs.log")
    ensure_dir(os.path.dirname(log))
    open(log, "w").close()
    _fresh_clone(DOCS_BASE)
    before = _htmldocs(DOCS_BASE, os.path.join(BUILD, "obj", "docs-base"),
                       log)
    after = _htmldocs(SCRATCH, os.path.join(BUILD, "obj", "docs-series"),
                      log)
    new = sorted(after - before)
    return [(f"make SPHINXDIRS='{SPHINXDIRS}' htmldocs", not new,
             f"{len(before)} warnings in the base, {len(after)} with the "
             f"series, new: {'; '.join(new[:8]) or 'none'}")]
