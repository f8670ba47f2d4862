"""``colocalize ccf`` and ``colocalize ica``: Van Steensel's CCF and Li's ICA of two channels."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from colocalize._cli._shared import (
    add_channel_pair,
    channel_pair,
    save_figure,
    summary_cell,
    use_agg,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    ccf = subparsers.add_parser(
        "ccf",
        help="Van Steensel's cross-correlation function (Pearson's r against an x shift)",
        description="Pearson's r of channel A against channel B shifted along x (the last "
        "axis) by -N..N pixels, with JACoP's Gaussian fit (its centre, width and FWHM). Prints "
        "the summary; --table writes r per shift (CSV), --plot the CCF plot (PNG). See "
        "docs/diagnostics.md.",
    )
    _common(ccf)
    ccf.add_argument(
        "--max-shift",
        type=int,
        default=20,
        metavar="N",
        help="largest shift in pixels (default 20, as JACoP)",
    )
    ccf.add_argument("--table", type=Path, help="CSV with one row per shift")
    ccf.add_argument("--plot", type=Path, help="PNG of the CCF plot")
    ccf.add_argument("--overwrite", action="store_true", help="replace existing output files")
    ccf.set_defaults(func=_run_ccf)

    ica = subparsers.add_parser(
        "ica",
        help="Li's intensity correlation analysis (ICA plots and ICQ)",
        description="Li's ICA: each channel's intensity against the product of the two "
        "channels' deviations from their means, and the ICQ. Prints the summary; --table writes "
        "one row per pixel (product and both intensities, CSV), --plot the two ICA plots (PNG, "
        "binned). See docs/diagnostics.md.",
    )
    _common(ica)
    ica.add_argument("--table", type=Path, help="CSV with one row per (masked) pixel")
    ica.add_argument("--plot", type=Path, help="PNG of the two ICA plots")
    ica.add_argument(
        "--nbins", type=int, default=256, help="bins per axis of the plots (default 256)"
    )
    ica.add_argument("--overwrite", action="store_true", help="replace existing output files")
    ica.set_defaults(func=_run_ica)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", type=Path, help="multichannel TIFF (2D or 3D)")
    add_channel_pair(p)
    p.add_argument("--mask", type=Path, help="mask TIFF (non-zero is analysed)")


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, Any, list[str]]:
    """Check the outputs, then read the two channels, the mask and the channel names."""
    from colocalize._io import read_image, read_mask_file
    from colocalize._output import check_output, same_file

    targets = [(p, n) for p, n in ((args.table, "--table"), (args.plot, "--plot")) if p]
    for path, name in targets:
        check_output(path, inputs=[args.image, args.mask], overwrite=args.overwrite, name=name)
    if len(targets) == 2 and same_file(args.table, args.plot):
        raise ValueError(
            f"--table and --plot are the same file {str(args.table)!r}; give two different paths"
        )
    image = read_image(args.image)
    index, names = channel_pair(args, image)
    mask = read_mask_file(args.mask, what="--mask") if args.mask else None
    return image, mask, index, names


def _run_ccf(args: argparse.Namespace) -> int:
    from colocalize._output import write_atomic
    from colocalize._vansteensel import CCF_SUMMARY, van_steensel_ccf

    image, mask, index, names = _inputs(args)
    width = image.shape[image.axes.index("X")]
    if not 1 <= args.max_shift <= width - 1:
        raise ValueError(
            f"--max-shift must be from 1 to {width - 1} pixels (the image is {width} pixels wide "
            f"along x), got {args.max_shift}; e.g. --max-shift {min(20, width - 1)}"
        )
    res = van_steensel_ccf(
        image.channel(index[0]),
        image.channel(index[1]),
        mask=mask,
        max_shift=args.max_shift,
        spacing=image.spatial_spacing,
        unit=image.unit,
    )
    summary = {
        "channel0": names[0],
        "channel1": names[1],
        **{name: getattr(res, name) for name in CCF_SUMMARY},
        "unit": res.unit,
    }
    _print(summary)
    if args.table is not None:
        write_atomic(args.table, ccf_table(res).to_csv(index=False))
    if args.plot is not None:
        use_agg()
        from colocalize.plot import ccf_plot

        save_figure(args.plot, ccf_plot(res).figure)
    return 0


def ccf_table(res: Any) -> Any:
    """r per shift as a DataFrame: ``dx`` (pixels), ``shift (UNIT)`` (calibrated), ``r``,
    ``n_pairs`` and ``fit`` (the fitted Gaussian at each shift)."""
    import pandas as pd

    columns = {"dx": res.dx, f"shift ({res.unit})": res.shift, "r": res.r}
    return pd.DataFrame({**columns, "n_pairs": res.n_pairs, "fit": res.fit})


def _run_ica(args: argparse.Namespace) -> int:
    from colocalize._ica import li_ica
    from colocalize._output import write_atomic

    if isinstance(args.nbins, bool) or args.nbins < 1:
        raise ValueError(f"--nbins must be a positive integer, got {args.nbins}; e.g. --nbins 256")
    image, mask, index, names = _inputs(args)
    res = li_ica(image.channel(index[0]), image.channel(index[1]), mask=mask)
    _print(
        {
            "channel0": names[0],
            "channel1": names[1],
            "icq": res.icq,
            "mean0": res.mean0,
            "mean1": res.mean1,
            "n_pixels": res.n_pixels,
        }
    )
    if args.table is not None:
        import pandas as pd

        table = pd.DataFrame(
            {"product": res.product, "intensity0": res.intensity0, "intensity1": res.intensity1}
        )
        write_atomic(args.table, table.to_csv(index=False))
    if args.plot is not None:
        use_agg()
        from colocalize.plot import ica_plot

        axes = ica_plot(res, nbins=args.nbins)
        for axis, name in zip(axes, names):
            axis.set_ylabel(f"{name} intensity")
            axis.set_xlabel(f"({names[0]} - mean)({names[1]} - mean)")
        save_figure(args.plot, axes[0].figure)
    return 0


def _print(summary: dict[str, Any]) -> None:
    for key, value in summary.items():
        print(f"{key}\t{summary_cell(value)}")
