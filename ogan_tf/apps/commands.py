"""What each model command writes (`ogan-tf encode`, `decode`,
`reconstruct`, `interpolate`, `edit`, `direction`, `principal`,
`neighbours`), one function per command, each one call from the CLI:
checks that need no model first, then `load()` (a callable giving the
OganModel of ogan_tf.api), then the files, written atomically. A file that
only copies (a direction's copy in the run folder) is skipped with a
warning where it cannot be written; one that was asked for is a one-line
error that names what was written already."""

from pathlib import Path

import numpy as np

from ..errors import OganError, first_line
from ..inference.images import load_images, read_image
from ..inference.outputs import grid, output_path, pairs_grid, rows_grid, write_array, write_image
from ..latent import files
from ..messages import say


# Codes and images --------------------------------------------------------------------
def encode(load, images, output, raw=False, log=say):
    out = output_path(output, (".npy",))
    codes = load().encode(images, raw=raw)
    write_array(out, codes)
    log(f"wrote {'E(x)' if raw else 'N(E(x))'} codes {codes.shape} of "
        f"{len(codes)} image(s) to {out} (rows in the order of the files read)")


def decode(load, codes_file, output, log=say):
    out = output_path(output)
    try:
        codes = np.load(codes_file)
    except (OSError, ValueError) as err:
        raise OganError(f"{codes_file} is not a readable .npy file ({err})") from None
    if not isinstance(codes, np.ndarray):  # an .npz archive
        raise OganError(f"{codes_file} is not a .npy array; save the codes with np.save")
    images = load().decode(codes)
    write_image(out, grid(images, int(np.ceil(np.sqrt(len(images))))))
    log(f"wrote {len(images)} decoded image(s) to {out}")


def reconstruct(load, images, output, scale=None, log=say):
    out = output_path(output)
    model = load()
    images = model.images(images)
    write_image(out, pairs_grid(images, model.reconstruct(images, scale)))
    log(f"wrote {len(images)} (image, reconstruction) pair(s) to {out}")


def interpolate(load, a, b, output, steps=10, scale=None, log=say):
    out = output_path(output)
    model = load()
    a, b = model.images([a])[0], model.images([b])[0]
    strip = np.concatenate([a[None], model.interpolate(a, b, steps, scale), b[None]])
    write_image(out, rows_grid(strip[None]))
    log(f"wrote A, {steps} decoded mixes, B to {out}")


def edit(load, images, direction, amounts, output, scale=None, orthogonal_to=(), log=say,
         row=None):
    out = output_path(output)
    model = load()
    images = model.images(images)
    edits = model.edit(images, direction, amounts, scale, orthogonal_to, row)
    write_image(out, rows_grid(np.concatenate([images[:, None], edits], axis=1)))
    listed = ",".join(f"{a:g}" for a in amounts)
    log(f"wrote {len(images)} row(s) (the image, then amounts {listed}) to {out}")


# Directions, principal axes, neighbours ----------------------------------------------
def _score(info):
    if "heldout_accuracy" in info:
        return (f"held-out accuracy {info['heldout_accuracy']:.3f} (balanced "
                f"{info['heldout_balanced_accuracy']:.3f}; chance {info['chance']:.3f})")
    return f"held-out R^2 {info['heldout_r2']:.3f}"


def _copy_beside_run(model, path, log):
    """Copy a direction file and its sidecar into <run>/directions/."""
    if model.home is None:
        return
    target = model.home / "directions" / Path(path).name
    if target.resolve() != Path(path).resolve():
        try:
            files.save_direction(target, *files.load_direction(path))
        except (OSError, OganError) as err:  # a copy: the direction itself is written
            log(f"  warning: no copy in {target} ({first_line(err)})")
            return
        log(f"  and a copy in {target}")


def _check_examples(positive, negative, labels):
    if labels is None and positive is None and negative is None:
        raise OganError("give --positive DIR and --negative DIR, or --labels FILE")
    if labels is not None and (positive or negative):
        raise OganError("give either --positive/--negative or --labels, not both")
    if labels is None and (positive is None or negative is None):
        raise OganError("--positive and --negative go together: a direction needs "
                        "examples of both classes")
    if labels is None and Path(positive).resolve() == Path(negative).resolve():
        raise OganError(f"--positive and --negative are the same folder {positive}: "
                        "one class only")


def direction(load, output, positive=None, negative=None, labels=None, attribute=None,
              images=None, limit=0, heldout=0.2, seed=0, log=say):
    """An attribute's direction from two folders or a table of labels, saved
    to `output` (and copied to <run>/directions/)."""
    out = output_path(output, (".npy",))
    _check_examples(positive, negative, labels)
    if labels is None:
        model = load()
        pos, neg = (files.limited_paths(files.list_images(f), limit, seed)
                    for f in (positive, negative))
        found = model.direction(pos, neg, attribute=out.stem, heldout=heldout, seed=seed)
        found.info.update(positive=str(positive), negative=str(negative))
    else:
        names, values, name = files.read_labels(labels, attribute)
        if len(np.unique(values)) < 2:
            raise OganError(f"{labels}: all {len(values)} images have the same {name} "
                            f"({values[0]:g}): one class only; a direction needs examples "
                            "of both sides")
        keep = files.limited(values, limit, seed)
        folder = Path(images) if images else files.labels_folder(labels)
        model = load()
        found = model.direction(images=[str(folder / names[i]) for i in keep],
                                values=values[keep], attribute=name, heldout=heldout, seed=seed)
        found.info.update(labels=str(labels), images_folder=str(folder))
    found.save(out)
    info = found.info
    counts = ", ".join(f"{v} {k}" for k, v in info["counts"].items())
    log(f"wrote the direction {info['attribute']!r} of run {info['run']!r} (step "
        f"{info['step']}) to {out}: {counts} image(s); {_score(info)}")
    _copy_beside_run(model, out, log)


def principal(load, output, images=None, k=8, steps=7, span=3.0, samples=2000, start=None,
              scale=None, directions=None, log=say):
    """A grid walking the principal axes of the codes, and the axes as
    direction files in `directions` (default <run>/directions/principal-*)."""
    out = output_path(output)
    if k < 1 or steps < 2:
        raise OganError(f"-k must be at least 1 and --steps at least 2 (got {k}, {steps})")
    model = load()
    axes = model.principal(images, k=k, samples=samples)
    walks = model.walk(axes, steps, span, model.images([start]) if start else None, scale)
    write_image(out, rows_grid(walks))
    log(f"wrote {len(walks)} walk(s) along the principal axes of the codes of "
        f"{axes['source']} to {out} (rows: axes; columns: -{span:g} to +{span:g} std)")
    for i, (std, share) in enumerate(zip(axes["std"], axes["explained"])):
        log(f"  axis {i + 1}: std {std:.3f}, {100 * share:.1f}% of the variance")
    folder = Path(directions) if directions else model.home / "directions" / (
        f"principal-{Path(images).resolve().name}" if images else "principal-samples")
    try:
        files.save_principal_axes(folder, axes, model.about())
    except (OSError, OganError) as err:  # the grid is written: say so, keep it
        raise OganError(f"wrote the grid {out}, but not the axes' direction files to {folder} "
                        f"({first_line(err)}); pass --directions DIR, a writable folder, "
                        "to get them") from None
    log(f"  the axes as direction files (for `ogan-tf edit --direction`): {folder}/pc*.npy")


def duplicates(load, index_folder, output=None, threshold=0.99, cache=True, queries=(),
               log=say):
    """The pairs of a folder whose codes are near-identical; a CSV with -o."""
    out = output_path(output, (".csv",)) if output else None
    if queries:
        raise OganError("--duplicates searches the --index folder itself; give no queries")
    model = load()
    index = model.index(index_folder, cache=cache)
    pairs = model.duplicates(index, threshold)
    log(f"{len(pairs)} pair(s) of {len(index)} image(s) with cosine similarity >= "
        f"{threshold:g}" + (":" if pairs else ""))
    for a, b, sim in pairs[:50]:
        log(f"  {sim:.4f}  {a}  {b}")
    if len(pairs) > 50:
        log(f"  ... and {len(pairs) - 50} more" + (f" (all in {out})" if out else ""))
    if out:
        files.write_pairs_csv(out, pairs)
        log(f"wrote the pairs to {out}")


def neighbours(load, queries, index_folder, output, k=8, cache=True, log=say):
    """A grid: each query, then its k nearest images of the folder."""
    if not queries or not output:
        raise OganError("give query images and -o grid.png (or --duplicates)")
    out = output_path(output)
    if k < 1:
        raise OganError(f"-k must be at least 1, got {k}")
    model = load()
    index = model.index(index_folder, cache=cache)
    images, names = load_images(queries, model.resolution, log, model.crop_max)
    rows, sims = model.neighbours(images, index, k, query_names=names)
    found = [read_image(index.names[r], model.resolution, model.crop_max) for r in rows.ravel()]
    found = np.stack(found).reshape(rows.shape + images.shape[1:])
    write_image(out, rows_grid(np.concatenate([images[:, None], found], axis=1)))
    for name, row, sim in zip(names, rows, sims):
        log(f"{name}:")
        for r, s in zip(row, sim):
            log(f"  {s:.4f}  {index.names[r]}")
    log(f"wrote {len(images)} row(s) (the query, then its {rows.shape[1]} nearest) to {out}")
