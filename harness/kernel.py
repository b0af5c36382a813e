# SPDX-License-Identifier: GPL-2.0
"""The base tree, the series on top of it, and the guest kernel builds.

One git tree, build/linux, holds the base (tag "base"). A variant is checked
out into it before its build: "baseline" is the base as it is, "ours" is the
base plus the series. Each variant has its own object tree (O=build/obj/NAME)
and all of them share one ccache. Building every variant from the same source
path is what lets ccache hit across variants: only the files the series
touches are compiled twice.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

from .common import (BUILD, HarnessError, LOGS, Progress, REPO,
                     die_with_parent, ensure_dir, run, say, step)

TREE = os.path.join(BUILD, "linux")
DEBIAN_TARBALL = "/usr/src/linux-source-6.12.tar.xz"
SERIES = os.environ.get("PR_SERIES", os.path.join(REPO, "patches", "series"))
FRAGMENT = os.path.join(REPO, "Kconfig.fragment")
VARIANTS = ("ours", "baseline", "debug", "ours-irqsoff", "baseline-irqsoff")
# The debug variant is ours (same sources) with the debug options of
# Kconfig.debug on top: DEBUG_VM, lockdep, KASAN and friends.
DEBUG_FRAGMENT = os.path.join(REPO, "Kconfig.debug")
# The -irqsoff variants, for the benchmark only: the irqsoff tracer on top.
IRQSOFF_FRAGMENT = os.path.join(REPO, "Kconfig.irqsoff")


def source_of(variant):
    """Which sources @variant builds: the base, or the base plus series."""
    return "baseline" if variant.startswith("baseline") else "ours"


def fragments_of(variant):
    """The configuration fragments of @variant, Kconfig.fragment first."""
    extra = {"debug": DEBUG_FRAGMENT, "ours-irqsoff": IRQSOFF_FRAGMENT,
             "baseline-irqsoff": IRQSOFF_FRAGMENT}.get(variant)
    return [FRAGMENT] + ([extra] if extra else [])
ARCH = "x86_64"

# The compiler cache lives outside the clone, so that a fresh clone on a
# machine that built the kernel before starts warm; PR_CCACHE_DIR moves it.
CCACHE_DIR = os.environ.get("PR_CCACHE_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
    "pr-ccache"))

# Fixed build identity: the kernel embeds user, host and time in
# init/version.o; keeping them constant keeps builds reproducible and ccache
# hits high.
BUILD_ENV = {
    "KBUILD_BUILD_USER": "pr",
    "KBUILD_BUILD_HOST": "harness",
    "KBUILD_BUILD_TIMESTAMP": "2024-11-17",
    "CCACHE_DIR": CCACHE_DIR,
    "CCACHE_MAXSIZE": "5G",
    # Paths below build/ enter the hash relative to the object tree, so a
    # second clone of the repository, or a tree laid out like build/linux
    # and build/obj/NAME elsewhere below build/, hits the same entries.
    "CCACHE_BASEDIR": BUILD,
    # Take the headers a file includes from the compiler's own dependency
    # file (kbuild's -Wp,-MMD) instead of running the preprocessor a second
    # time for the hash: a fifth less CPU per object on a cold cache.
    "CCACHE_DEPEND": "1",
}


def read_version(tree):
    """Return "6.12.117" style version of the tree at @tree, or raise."""
    mk = os.path.join(tree, "Makefile")
    try:
        with open(mk) as f:
            head = f.read(4096)
    except OSError:
        raise HarnessError(f"{tree} is not a Linux source tree "
                           "(no top-level Makefile)")
    fields = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{key}\s*=\s*(\S*)\s*$", head, re.M)
        fields[key] = m.group(1) if m else ""
    if not fields["VERSION"] or not fields["PATCHLEVEL"]:
        raise HarnessError(f"{tree} is not a Linux source tree "
                           "(no VERSION/PATCHLEVEL in its Makefile)")
    ver = f"{fields['VERSION']}.{fields['PATCHLEVEL']}"
    if fields["SUBLEVEL"]:
        ver += f".{fields['SUBLEVEL']}"
    return ver + fields["EXTRAVERSION"]


def check_612(tree):
    ver = read_version(tree)
    if not re.match(r"6\.12(\.|$|-)", ver):
        raise HarnessError(
            f"{tree} is Linux {ver}; this series is for Linux 6.12 "
            "(Debian's linux-source-6.12, or any 6.12.y tree)")
    return ver


def _source_identity(kernel_src):
    """What the base tree is made from, to notice when it changes."""
    if kernel_src:
        return {"kind": "tree", "path": os.path.abspath(kernel_src)}
    if not os.path.exists(DEBIAN_TARBALL):
        raise HarnessError(f"{DEBIAN_TARBALL} is missing: install the "
                           "Debian package linux-source-6.12, or name a "
                           "6.12 tree with KERNEL_SRC=")
    st = os.stat(DEBIAN_TARBALL)
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                        "linux-source-6.12"], capture_output=True, text=True)
    return {"kind": "debian", "path": DEBIAN_TARBALL, "size": st.st_size,
            "mtime": int(st.st_mtime), "package": p.stdout.strip()}


def _git(*args, check=True, tree=TREE, log=None):
    return run(["git", "-C", tree, "-c", "user.name=pr-harness",
                "-c", "user.email=pr-harness@localhost"] + list(args),
               check=check, log=log, what="git " + args[0])


def base_info():
    with open(os.path.join(BUILD, "base.json")) as f:
        return json.load(f)


def extract_base(dest, kernel_src=None, log=None):
    """Extract the base source into @dest (which must not exist) and record
    it in git as one commit tagged "base". Returns its version."""
    ident = _source_identity(kernel_src)
    log = log or os.path.join(LOGS, "base.log")
    if ident["kind"] == "debian":
        tmp = dest + ".extract"
        shutil.rmtree(tmp, ignore_errors=True)
        ensure_dir(tmp)
        prog = Progress("extracting " + DEBIAN_TARBALL)
        prog.update("running tar", force=True)
        run(["tar", "-xf", DEBIAN_TARBALL, "-C", tmp], log=log,
            what="extracting " + DEBIAN_TARBALL)
        (top,) = os.listdir(tmp)
        os.rename(os.path.join(tmp, top), dest)
        os.rmdir(tmp)
        prog.done("done")
    else:
        run(["rsync", "-a", "--exclude=.git", kernel_src.rstrip("/") + "/",
             dest + "/"], log=log, what="copying " + kernel_src)
    ver = check_612(dest)
    if os.path.exists(os.path.join(dest, ".config")):
        raise HarnessError(f"the base tree {ident['path']} has been "
                           "configured in place; run 'make mrproper' in it")
    prog = Progress("recording the base in git")
    prog.update("git add", force=True)
    run(["git", "init", "-q", dest], log=log, what="git init")
    # -f: Debian's top-level .gitignore ignores everything ("/*").
    _git("add", "-f", "-A", tree=dest, log=log)
    _git("commit", "-q", "-m", f"base: Linux {ver}", tree=dest, log=log)
    _git("tag", "-f", "base", tree=dest, log=log)
    prog.done("done")
    return ver


def prepare_base(kernel_src=None):
    """Make build/linux a git tree whose tag "base" is the base source."""
    if kernel_src:
        check_612(kernel_src)
    ident = _source_identity(kernel_src)
    stamp = os.path.join(BUILD, "base.json")
    if os.path.exists(stamp) and os.path.isdir(os.path.join(TREE, ".git")):
        with open(stamp) as f:
            have = json.load(f)
        if have.get("source") == ident:
            return have
    step("preparing the base tree (once per base)")
    ensure_dir(BUILD)
    if os.path.exists(stamp):
        os.unlink(stamp)
    shutil.rmtree(TREE, ignore_errors=True)
    ver = extract_base(TREE, kernel_src)
    info = {"version": ver, "source": ident}
    with open(stamp, "w") as f:
        json.dump(info, f, indent=1)
    return info


def read_series(path=None):
    """Entries of patches/series in order, [(name, full path)]: kernel-tree
    files written here, patches to existing files (applied in order) and
    stage diffs (see stage_contents()); read_groups() says which patch
    each belongs to."""
    return [entry for _, entries in read_groups(path) for entry in entries]


def staged_for(contents, index):
    """{target: content} that entry @index writes, from stage_contents()."""
    return {t: d for (i, t), d in contents.items() if i == index}


def _changed_files():
    """{path: (content, mtime)} of files that differ from the base."""
    p = run(["git", "-C", TREE, "status", "--porcelain", "-uall",
             "--ignored"], check=False)
    out = {}
    for line in p.stdout.splitlines():
        path = os.path.join(TREE, line[3:])
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[path] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def _keep_mtimes(before):
    """Give files whose content came back unchanged their old mtime, so
    that a series edit rebuilds only what it really changed (otherwise a
    one-line change recompiles everything that includes mmzone.h)."""
    for path, (data, mtime) in before.items():
        try:
            with open(path, "rb") as f:
                same = f.read() == data
        except OSError:
            continue
        if same:
            os.utime(path, ns=(mtime, mtime))


def stage_targets(path):
    """The files that the stage diff at @path (patches/stages/*.diff)
    takes to their next state: the paths of its "+++ b/" lines."""
    with open(path) as f:
        return [ln[6:].rstrip("\n") for ln in f if ln.startswith("+++ b/")]


def _unapply(data, diff, target):
    """@target's content before the stage diff @diff, given @data, its
    content after it."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, target)
        ensure_dir(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(data)
        p = run(["git", "apply", "-R", f"--include={target}", diff],
                cwd=d, check=False)
        if p.returncode != 0:
            raise HarnessError(
                f"{os.path.basename(diff)} does not take {target} to "
                f"the content that the later stages and {target} itself "
                f"give: regenerate it ({(p.stderr or p.stdout).strip()})")
        with open(path, "rb") as f:
            return f.read()


def _stage_points(entries):
    """For the files that stage diffs change: ({target: [index of each
    stage diff that changes it]}, {target: index of the first entry that
    writes it}), indices into @entries, the series' entries in order."""
    stages = {}
    for i, (name, full) in enumerate(entries):
        if name.endswith(".diff"):
            for target in stage_targets(full):
                stages.setdefault(target, []).append(i)
    first = {}
    for i, (name, _) in enumerate(entries):
        if name in stages and name not in first:
            first[name] = i
    for target, idx in stages.items():
        if target not in first or first[target] > idx[0]:
            raise HarnessError(
                f"{entries[idx[0]][0]} changes {target}, which no earlier "
                f"entry of the series writes")
    return stages, first


def stage_contents(groups, root=REPO):
    """Whole-file contents of the files that stage diffs change, at each
    point of the series: {(entry index, target): bytes}, the entry index
    counting the entries of @groups in order. A kernel-tree file of this
    repository holds its final form; the stage diffs listed after it (in
    later patches) bring it there from the form its first entry writes,
    which is computed by taking them back, last first. Each patch thus
    writes every file whole, as it is at that patch."""
    entries = [e for _, es in groups for e in es]
    stages, first = _stage_points(entries)
    out = {}
    for target, idx in stages.items():
        with open(os.path.join(root, target), "rb") as f:
            data = f.read()
        for i in reversed(idx):
            out[(i, target)] = data
            data = _unapply(data, entries[i][1], target)
        out[(first[target], target)] = data
    return out


def _stage_versions(groups):
    """{target: [(label, entry index), ...]}: the points of the series
    at which a file that stage diffs change takes a new form, the entry
    that first writes it first ("0-first"), then one per stage diff that
    changes it ("K-NAME": the K-th stage diff of the series, NAME its
    file name without .diff)."""
    entries = [e for _, es in groups for e in es]
    stages, first = _stage_points(entries)
    diffs = [i for i, (name, _) in enumerate(entries)
             if name.endswith(".diff")]
    out = {}
    for target, idx in stages.items():
        out[target] = [("0-first", first[target])] + [
            (f"{diffs.index(i) + 1}-"
             f"{os.path.basename(entries[i][0])[:-len('.diff')]}", i)
            for i in idx]
    return out


def export_stages(dest, groups=None, root=REPO):
    """Write every form of every staged file into @dest/LABEL/PATH, so
    that the stages can be edited as whole files; import_stages() turns
    them back into stage diffs and the final form."""
    groups = groups or read_groups()
    contents = stage_contents(groups, root)
    for target, versions in _stage_versions(groups).items():
        for label, i in versions:
            path = os.path.join(dest, label, target)
            ensure_dir(os.path.dirname(path))
            with open(path, "wb") as f:
                f.write(contents[(i, target)])
    return sorted(os.listdir(dest))


def import_stages(src, groups=None, root=REPO):
    """Regenerate the stage diffs from the forms in @src (as
    export_stages() wrote them, then edited), and the repository's
    final form of each staged file from its last one."""
    groups = groups or read_groups()
    entries = [e for _, es in groups for e in es]
    versions = _stage_versions(groups)
    diffs = {}
    for target, vs in versions.items():
        for (before, _), (after, i) in zip(vs, vs[1:]):
            diffs.setdefault(i, []).append((target, before, after))
    for i, changes in sorted(diffs.items()):
        text = ""
        with tempfile.TemporaryDirectory() as d:
            for target, before, after in changes:
                for side, label in (("a", before), ("b", after)):
                    dst = os.path.join(d, side, target)
                    ensure_dir(os.path.dirname(dst))
                    shutil.copyfile(os.path.join(src, label, target), dst)
                p = run(["git", "diff", "--no-index", "--no-prefix",
                         f"a/{target}", f"b/{target}"], cwd=d, check=False)
                if p.returncode not in (0, 1):
                    raise HarnessError(f"git diff of {target}: {p.stderr}")
                text += p.stdout
        with open(entries[i][1], "w") as f:
            f.write(text)
    for target, vs in versions.items():
        shutil.copyfile(os.path.join(src, vs[-1][0], target),
                        os.path.join(root, target))
    # What was imported must read back as it was written.
    back = stage_contents(groups, root)
    for target, vs in versions.items():
        for label, i in vs:
            with open(os.path.join(src, label, target), "rb") as f:
                if f.read() != back[(i, target)]:
                    raise HarnessError(f"{label}/{target} does not read "
                                       "back as written")


def apply_entry(tree, name, full, version, staged=None):
    """Apply one entry of patches/series to the tree at @tree: copy a
    kernel-tree file, git-apply a .patch, or write the files of a stage
    diff. @staged: {target: content} of the files that stage diffs
    change, as stage_contents() gives them for this entry."""
    if staged:
        for target, data in staged.items():
            dst = os.path.join(tree, target)
            ensure_dir(os.path.dirname(dst))
            with open(dst, "wb") as f:
                f.write(data)
    elif full.endswith(".patch"):
        p = run(["git", "-C", tree, "apply", "--verbose", full], check=False)
        if p.returncode != 0:
            hunks = [ln for ln in (p.stderr + p.stdout).splitlines()
                     if "error" in ln or "failed" in ln]
            raise HarnessError(f"patch {name} does not apply to Linux "
                               f"{version}:\n  " + "\n  ".join(hunks[:10]))
    else:
        dst = os.path.join(tree, name)
        ensure_dir(os.path.dirname(dst))
        shutil.copyfile(full, dst)


def read_groups(path=None):
    """The patches of the series: [(message file, [(name, full), ...])].
    A line "## patches/msg/NAME" starts a patch; entries before the first
    such line are an error, since they would belong to no patch."""
    path = path or SERIES
    groups = []
    if not os.path.exists(path):
        return groups
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^##\s+(\S+)", line)
            if m:
                msg = os.path.join(REPO, m.group(1))
                if not os.path.exists(msg):
                    raise HarnessError(f"{path}:{n}: {m.group(1)} does "
                                       "not exist")
                groups.append((msg, []))
                continue
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            if not groups:
                raise HarnessError(f"{path}:{n}: {entry} comes before the "
                                   "first '## patches/msg/...' line")
            # Paths are relative to the repository root; a file in the
            # kernel-tree layout lands at the same path in the tree.
            full = os.path.join(REPO, entry)
            if not os.path.exists(full):
                raise HarnessError(f"{path}:{n}: {entry} does not exist")
            groups[-1][1].append((entry, full))
    return groups


def checkout(variant):
    """Put the sources of @variant into build/linux; touch as few files as
    possible so that the object tree rebuilds incrementally."""
    if variant not in VARIANTS:
        raise HarnessError(f"unknown variant {variant!r}")
    variant = source_of(variant)
    info = base_info()
    series = read_series() if variant == "ours" else []
    want = hashlib.sha256(variant.encode())
    for name, full in series:
        with open(full, "rb") as f:
            want.update(name.encode() + b"\0" + f.read())
    stamp = os.path.join(TREE, ".git", "pr-checkout")
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == want.hexdigest():
                return [name for name, _ in series]
        os.unlink(stamp)
    before = _changed_files()
    _git("reset", "-q", "--hard", "base")
    # -x as well: Debian's .gitignore would hide the files we add; the
    # tree never holds build output (every build uses O=).
    _git("clean", "-q", "-fdx")
    applied = []
    staged = stage_contents(read_groups()) if series else {}
    for i, (name, full) in enumerate(series):
        apply_entry(TREE, name, full, info["version"],
                    staged_for(staged, i))
        applied.append(name)
    _keep_mtimes(before)
    # Remember what is checked out: the next build of the same variant and
    # series touches no file, so make has nothing to redo.
    with open(stamp, "w") as f:
        f.write(want.hexdigest())
    return applied


def obj_dir(variant):
    return os.path.join(BUILD, "obj", variant)


def _fragment_lines(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
            if m:
                yield m.group(1), m.group(2)
            m = re.match(r"^# (CONFIG_\w+) is not set$", line)
            if m:
                yield m.group(1), "n"


def fragment_section(title, path=FRAGMENT):
    """The lines of the "# --- @title" section of the fragment at @path,
    up to the blank line that ends it, for another architecture's
    fragment to share."""
    with open(path) as f:
        text = f.read()
    start = text.index(f"# --- {title}")
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start:end + 1]


def _kconfig_symbols(tree):
    """Every symbol the checked-out @tree defines in its Kconfig files."""
    p = run(["git", "-C", tree, "grep", "-h", "-E",
             r"^\s*(menu)?config [A-Z0-9_]+", "--", "*Kconfig*"],
            check=False)
    return {ln.split()[1] for ln in p.stdout.splitlines()}


def configure(variant, fragments, log, arch=ARCH, tree=TREE, obj=None,
              cross="", only_known=False):
    """tinyconfig + our fragments, then check every fragment line held.
    @tree and @obj default to build/linux and @variant's object tree;
    @cross is the CROSS_COMPILE prefix of another architecture's compiler;
    @only_known: check only the options that @tree's Kconfig has (the
    baseline, and a prefix of the series, lack some that the series
    adds)."""
    obj = ensure_dir(obj or obj_dir(variant))
    digest = hashlib.sha256((arch + cross).encode())
    for frag in fragments:
        with open(frag, "rb") as f:
            digest.update(f.read())
    stamp = os.path.join(obj, ".pr-fragment")
    config = os.path.join(obj, ".config")
    if os.path.exists(config) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == digest.hexdigest():
                return
    mk = ["make", "-C", tree, f"O={obj}", f"ARCH={arch}"]
    if cross:
        mk.append(f"CROSS_COMPILE={cross}")
    run(mk + ["tinyconfig"], log=log, what="make tinyconfig")
    run([os.path.join(tree, "scripts/kconfig/merge_config.sh"), "-m",
         "-O", obj, config] + fragments, log=log, cwd=obj,
        what="merge_config.sh")
    run(mk + ["olddefconfig"], log=log, what="make olddefconfig")
    have = dict(_fragment_lines(config))
    known = (_kconfig_symbols(tree)
             if source_of(variant) == "baseline" or only_known else None)
    # As merge_config.sh does: a later fragment's line wins.
    wants = {}
    for frag in fragments:
        for key, want in _fragment_lines(frag):
            wants[key] = (want, frag)
    wrong = []
    for key, (want, frag) in wants.items():
        got = have.get(key, "n")
        # The baseline lacks the options the series adds.
        if known is not None and key[len("CONFIG_"):] not in known:
            continue
        if got != want:
            wrong.append(f"{key}={want} (got {got}) from "
                         f"{os.path.basename(frag)}")
    if wrong:
        raise HarnessError("the kernel configuration dropped options "
                           "(a dependency is missing):\n  "
                           + "\n  ".join(wrong))
    with open(stamp, "w") as f:
        f.write(digest.hexdigest())


def build(variant="ours", kernel_src=None, fragments=None, quiet=False):
    """Build @variant; return the path of its bzImage. @quiet: print
    nothing (a build on a background thread)."""
    info = prepare_base(kernel_src)
    applied = checkout(source_of(variant))
    fragments = fragments or fragments_of(variant)
    log = os.path.join(LOGS, f"kernel-{variant}.log")
    ensure_dir(LOGS)
    with open(log, "w") as f:
        f.write(f"# {variant}: Linux {info['version']}, series: "
                f"{len(applied)} entries\n")
    if not quiet:
        say(f"    base: Linux {info['version']}"
            + (f" (Debian linux-source-6.12 {info['source']['package']})"
               if info["source"]["kind"] == "debian" else
               f" ({info['source']['path']})")
            + f"; variant: {variant}"
            + (f", series of {len(applied)} entries" if applied else
               ", unpatched"))
    configure(variant, fragments, log)
    return make_bzimage(TREE, obj_dir(variant), variant, log, quiet=quiet)


def make_bzimage(tree, obj, label, log, quiet=False):
    """make bzImage of @tree (configured) in @obj; return the image.
    @quiet: no progress lines."""
    env = dict(os.environ, **BUILD_ENV)
    jobs = str(os.cpu_count() or 2)
    cmd = ["make", "-C", tree, f"O={obj}", f"ARCH={ARCH}",
           "CC=ccache gcc", "HOSTCC=ccache gcc", f"-j{jobs}", "bzImage"]
    prog = None if quiet else Progress(f"building {label} kernel")
    count = 0
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             preexec_fn=die_with_parent)
        for line in p.stdout:
            f.write(line)
            m = re.match(r"\s+(CC|AS|LD|AR)\s+(\S+)", line)
            if m:
                count += 1
                if prog:
                    prog.update(f"{count} steps, now {m.group(2)}")
        rc = p.wait()
    if rc != 0:
        errs = [ln.rstrip() for ln in open(log, errors="replace")
                if "error" in ln.lower()][:15]
        raise HarnessError(f"the {label} kernel build failed; full log: "
                           f"{log}\n  " + "\n  ".join(errs))
    if prog:
        prog.done(f"{count} build steps")
    return os.path.join(obj, "arch/x86/boot/bzImage")
