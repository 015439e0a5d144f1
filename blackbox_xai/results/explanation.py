"""``Explanation``: the one result type of every attribution method."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..utils.formatting import fmt_number, plural
from ..utils.optional import import_optional
from .json_io import JsonRoundTrip, jsonable

_FORMAT_VERSION = 1

#: Methods whose values add up to the model's output: ``base + sum(values) = f(x)``.
_EFFICIENT = ("exact_shapley", "kernel_shap", "sampling_shapley")

#: Rows summarised by ``print(explanation)``.
_ROWS_SHOWN = 5


def _rows_of(value: Any, idx: np.ndarray, n: int) -> Any:
    """Per-row meta entries (a list or array with one item per row) follow a row subset."""
    if isinstance(value, (list, np.ndarray)) and len(value) == n:
        return [value[i] for i in idx] if isinstance(value, list) else value[idx]
    return value


class Explanation(JsonRoundTrip):
    """Attributions for ``n`` rows, ``d`` features and ``k`` model outputs.

    Parameters
    ----------
    values : array of shape ``(n, *feature_shape, k)``
        Attribution of each feature to each output.
    base_values : array of shape (n, k)
        The reference output (e.g. ``E f`` for Shapley values).
    data : array-like or list, optional
        The explained inputs (rows, documents, images).
    feature_names : sequence of str, optional
        One name per feature (for 1-D feature shapes).
    output_names : sequence of str, optional
        One name per output.
    stderr : array like ``values``, optional
        Standard errors of sampling estimates.
    method : str
        The explainer that produced the values.
    meta : dict
        seed, n_evals, n_model_rows, converged, parameters, ...
    """

    def __init__(
        self,
        values: Any,
        base_values: Any,
        *,
        data: Any = None,
        feature_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        stderr: Any = None,
        method: str = "",
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim < 3:
            raise ValueError(
                f"values must have shape (n, *feature_shape, k); got {self.values.shape}."
            )
        n, k = self.values.shape[0], self.values.shape[-1]
        base = np.asarray(base_values, dtype=np.float64)
        if base.shape == (n,) and k == 1:
            base = base.reshape(n, 1)
        if base.shape != (n, k):
            raise ValueError(f"base_values must have shape (n, k) = {(n, k)}; got {base.shape}.")
        self.base_values = base
        self.stderr = None if stderr is None else np.asarray(stderr, dtype=np.float64)
        if self.stderr is not None and self.stderr.shape != self.values.shape:
            raise ValueError(f"stderr has shape {self.stderr.shape}, values {self.values.shape}.")
        self.data = data
        d = self.values.shape[1:-1]
        self.feature_names = (
            [str(f) for f in feature_names]
            if feature_names is not None
            else ([f"x{j}" for j in range(d[0])] if len(d) == 1 else None)
        )
        if self.feature_names is not None and len(d) == 1 and len(self.feature_names) != d[0]:
            raise ValueError(f"{len(self.feature_names)} feature names for {d[0]} features.")
        self.output_names = (
            [str(o) for o in output_names]
            if output_names is not None
            else ([str(i) for i in range(k)] if k > 1 else ["output"])
        )
        if len(self.output_names) != k:
            raise ValueError(f"{len(self.output_names)} output names for {k} outputs.")
        self.method = method
        self.meta = dict(meta or {})

    # -- shape --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``values``."""
        return tuple(self.values.shape)

    def __len__(self) -> int:
        return self.values.shape[0]

    def __getitem__(self, rows: int | slice | Sequence[int] | np.ndarray) -> Explanation:
        """The explanation of a subset of rows (always keeps the row axis).

        Rows with different players (texts, images: ``meta["n_players"]``) keep the
        padding the subset needs and no more, so one row comes back unpadded, with its
        own players as ``feature_names``.
        """
        idx = np.arange(len(self))[rows]
        idx = np.atleast_1d(idx)
        data = self.data
        if data is not None:
            data = [data[i] for i in idx] if isinstance(data, list) else np.asarray(data)[idx]
        values, stderr = self.values[idx], None if self.stderr is None else self.stderr[idx]
        meta = {key: _rows_of(value, idx, len(self)) for key, value in self.meta.items()}
        feature_names = self.feature_names
        counts = self.meta.get("n_players")
        if isinstance(counts, list) and len(counts) == len(self):
            width = max((counts[i] for i in idx), default=0)
            values = values[:, :width]
            stderr = None if stderr is None else stderr[:, :width]
            if len(idx) == 1:
                feature_names = self.meta["player_names"][idx[0]]
                del meta["n_players"], meta["player_names"]
            else:
                feature_names = None
        return Explanation(
            values,
            self.base_values[idx],
            data=data,
            feature_names=feature_names,
            output_names=self.output_names,
            stderr=stderr,
            method=self.method,
            meta=meta,
        )

    def player_names_of(self, row: int) -> list[str]:
        """The names of row ``row``'s players (its own when rows have different players)."""
        per_row = self.meta.get("player_names")
        if isinstance(per_row, list) and len(per_row) == len(self):
            return [str(name) for name in per_row[row]]
        return self.feature_names or [str(j) for j in range(self.values.shape[1])]

    def output_index(self, output: int | str | None) -> int:
        """Index of an output given by position or name (the last output by default)."""
        if output is None:
            return len(self.output_names) - 1
        if not isinstance(output, (str, int, np.integer)) or isinstance(output, bool):
            raise TypeError(f"output must be a name or an integer index, got {output!r}.")
        if isinstance(output, str):
            if output not in self.output_names:
                raise ValueError(f"unknown output {output!r}; outputs are {self.output_names}.")
            return self.output_names.index(output)
        if not -len(self.output_names) <= output < len(self.output_names):
            raise ValueError(
                f"output index {output} out of range for {len(self.output_names)} outputs."
            )
        return int(output) % len(self.output_names)

    def top_features(
        self, row: int = 0, output: int | str | None = None, n: int = 5
    ) -> list[tuple[str, float]]:
        """The features with the largest absolute attribution.

        Parameters
        ----------
        row : int
        output : int or str, optional
            Output index or name (the last output by default).
        n : int
            How many features.

        Returns
        -------
        list of (name, value), largest ``|value|`` first.
        """
        if self.values.ndim != 3:
            raise ValueError("top_features needs 1-D features (tabular or text).")
        o = self.output_index(output)
        names = self.player_names_of(row)
        v = self.values[row, : len(names), o]
        order = np.argsort(-np.abs(v), kind="stable")[:n]
        return [(names[j], float(v[j])) for j in order]

    def shown_outputs(self) -> tuple[list[int], str]:
        """The output each row's summary shows, and why (used by ``print``).

        Returns
        -------
        outputs : list of int
            One output index per row.
        reason : str
            ``"predicted"`` (Shapley values: ``base + sum(values)`` is the model's output,
            the largest is the predicted class), ``"target"`` (the explained target of
            each row), ``"only"`` (a single output) or ``"last"`` (several outputs and no
            prediction recorded).
        """
        n, k = len(self), self.values.shape[-1]
        targets = self.meta.get("target")
        if (
            isinstance(targets, list)
            and len(targets) == n
            and all(isinstance(t, int) and 0 <= t < k for t in targets)
        ):
            return [int(t) for t in targets], "target"
        if k == 1:
            return [0] * n, "only"
        if self.method in _EFFICIENT:
            axes = tuple(range(1, self.values.ndim - 1))
            fx = self.base_values + np.nansum(self.values, axis=axes)
            return [int(o) for o in fx.argmax(axis=1)], "predicted"
        return [k - 1] * n, "last"

    def shown_output(self, row: int, output: int | str | None = None) -> int:
        """Index of the output a view of one row shows: ``output`` when given, else the
        row's own (:meth:`shown_outputs`: its target, the predicted class for Shapley
        values, else the last output), as ``print`` and :meth:`to_html` show it."""
        if output is not None:
            return self.output_index(output)
        return self.shown_outputs()[0][row]

    # -- images -------------------------------------------------------------------------
    @property
    def is_image(self) -> bool:
        """Whether the rows are images (per-pixel values, or values per superpixel)."""
        return "image_shape" in self.meta

    def pixel_map(self, row: int = 0, output: int | str | None = None) -> np.ndarray:
        """One image's attributions as an ``(H, W)`` map.

        Per-pixel values (occlusion, RISE) as they are; values per superpixel (LIME,
        Shapley values on an Image masker) painted onto their segment's pixels.

        Parameters
        ----------
        row : int
        output : int or str, optional
            The last output by default.

        Raises
        ------
        ValueError
            The explanation is not of images.
        """
        o = self.output_index(output)
        if self.values.ndim == 4:
            return np.asarray(self.values[row, :, :, o])
        segments = self.meta.get("segments")
        if segments is None or segments[row] is None:
            raise ValueError(
                "pixel_map needs an image explanation: per-pixel values, or values per "
                "superpixel with meta['segments'] (an Image masker)."
            )
        seg = np.asarray(segments[row], dtype=np.int64)
        return np.asarray(self.values[row, :, o])[seg]

    def __repr__(self) -> str:
        head = (
            f"Explanation(method={self.method!r}, shape={self.shape}, outputs={self.output_names})"
        )
        if self.values.ndim != 3 or len(self) == 0:
            return head
        outputs, reason = self.shown_outputs()
        lines = [head]
        if reason == "last":
            lines.append(
                f"  output {self.output_names[-1]!r} shown (the last of "
                f"{len(self.output_names)}; {self.method} records no prediction to pick "
                "one): top_features(row, output=...) gives the others"
            )
        shown = min(len(self), _ROWS_SHOWN)
        for row in range(shown):
            o = outputs[row]
            name = self.output_names[o]
            base = fmt_number(self.base_values[row, o])
            if reason == "predicted":
                fx = fmt_number(self.base_values[row, o] + np.nansum(self.values[row, :, o]))
                what = f"predicted {name!r} (f = {fx}, base {base})"
            elif reason == "target":
                what = f"target {name!r} (base {base})"
            else:
                what = f"output {name!r} (base {base})"
            lines.append(f"  row {row}: {what}")
            for feature, value in self.top_features(row, o, 5):
                lines.append(f"    {feature:<28} {fmt_number(value, '+.4g')}")
        if len(self) > shown:
            lines.append(f"  ... {plural(len(self) - shown, 'more row')}")
        return "\n".join(lines)

    # -- tables -------------------------------------------------------------------------
    def to_frame(self) -> Any:
        """Long table: one row per (row, feature, output) with value, stderr and data.

        Returns a pandas DataFrame (pandas is required).
        """
        pd = import_optional("pandas")
        if self.values.ndim != 3:
            raise ValueError("to_frame needs 1-D features; flatten image explanations first.")
        if isinstance(self.meta.get("n_players"), list):
            # Rows with their own players: one table per row, without the padding.
            parts = [self[i].to_frame().assign(row=i) for i in range(len(self))]
            return pd.concat(parts, ignore_index=True)
        n, d, k = self.values.shape
        rows, feats, outs = np.meshgrid(np.arange(n), np.arange(d), np.arange(k), indexing="ij")
        names = np.asarray(self.feature_names or [str(j) for j in range(d)], dtype=object)
        frame = pd.DataFrame(
            {
                "row": rows.ravel(),
                "feature": names[feats.ravel()],
                "output": np.asarray(self.output_names, dtype=object)[outs.ravel()],
                "value": self.values.ravel(),
            }
        )
        if self.stderr is not None:
            frame["stderr"] = self.stderr.ravel()
        data = self.data
        if isinstance(data, np.ndarray) and data.shape == (n, d):
            frame["data"] = data[rows.ravel(), feats.ravel()]
        return frame

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, numbers, strings) used by JSON."""
        data = self.data
        if isinstance(data, np.ndarray):
            data = data.tolist()
        return jsonable(
            {
                "format": "blackbox_xai.Explanation",
                "version": _FORMAT_VERSION,
                "method": self.method,
                "values": self.values,
                "base_values": self.base_values,
                "stderr": self.stderr,
                "data": data,
                "feature_names": self.feature_names,
                "output_names": self.output_names,
                "meta": self.meta,
            }
        )

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Explanation:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(obj, dict):
            raise ValueError(f"an Explanation is read from a dict, got a {type(obj).__name__}.")
        if obj.get("format") != "blackbox_xai.Explanation":
            raise ValueError("not a blackbox_xai Explanation (missing 'format').")
        version = obj.get("version", _FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError(f"the Explanation's 'version' must be an integer, got {version!r}.")
        missing = [key for key in ("values", "base_values") if key not in obj]
        if missing:
            raise ValueError(f"the Explanation lacks the key(s) {missing}.")
        for key in ("feature_names", "output_names"):
            names = obj.get(key)
            if names is not None and not isinstance(names, list):
                raise ValueError(
                    f"the Explanation's {key!r} must be a list of names, got a "
                    f"{type(names).__name__} ({names!r})."
                )
        if version > _FORMAT_VERSION:
            raise ValueError(
                f"this Explanation was written in format version {obj['version']}, newer than "
                f"{_FORMAT_VERSION}; upgrade blackbox_xai to read it."
            )
        data = obj.get("data")
        if isinstance(data, list) and data and not isinstance(data[0], str):
            rows = [np.asarray(row, dtype=np.float64) for row in data]
            # Rows of one shape are one array; rows of their own lengths stay a list.
            data = np.stack(rows) if len({r.shape for r in rows}) == 1 else rows
        return cls(
            obj["values"],
            obj["base_values"],
            data=data,
            feature_names=obj.get("feature_names"),
            output_names=obj.get("output_names"),
            stderr=obj.get("stderr"),
            method=obj.get("method", ""),
            meta=obj.get("meta"),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write an ``.npz`` file (arrays stored binary, exact)."""
        arrays: dict[str, Any] = {"values": self.values, "base_values": self.base_values}
        if self.stderr is not None:
            arrays["stderr"] = self.stderr
        if isinstance(self.data, np.ndarray) and self.data.dtype != object:
            arrays["data"] = self.data
        header = {
            k: v for k, v in self.to_dict().items() if k not in ("values", "base_values", "stderr")
        }
        if "data" in arrays:
            header["data"] = None
        arrays["header"] = np.asarray(json.dumps(header))
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Explanation:
        """Read an ``.npz`` file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            obj = json.loads(str(f["header"]))
            obj.update(
                {name: f[name] for name in ("values", "base_values", "stderr", "data") if name in f}
            )
        return cls.from_dict(obj)

    # -- views --------------------------------------------------------------------------
    def to_html(
        self, output: int | str | None = None, max_features: int = 10, figures: bool | None = None
    ) -> str:
        """An HTML fragment: the report section of this explanation (as in a report page).

        Parameters
        ----------
        output : int or str, optional
            Output to show; by default each row's predicted class for Shapley values,
            the target of gradient methods, the last output otherwise
            (:meth:`shown_outputs`).
        max_features : int
            Features per figure and table, largest first.
        figures : bool, optional
            Embed figures (default: when matplotlib is installed): a waterfall per row,
            for several rows a beeswarm, global importance and dependence plot; text
            explanations show each document with its tokens coloured by attribution
            (see ``report.text``), image explanations their maps.

        Returns
        -------
        str
            Self-contained (its own ``<style>``, no script, every string escaped); the
            same fragment notebooks show (``_repr_html_``). Tabular rows get their
            figures and table, texts their tokens coloured by attribution
            (``report.text``), images their attribution overlays (``report.image``).
        """
        from ..report import explanation_section

        section = explanation_section(
            self, output=output, max_features=max_features, figures=figures
        )
        return section._repr_html_()

    def _repr_html_(self) -> str:
        return self.to_html()

    def plot(
        self, row: int = 0, output: int | str | None = None, max_features: int = 10, ax: Any = None
    ) -> Any:
        """Horizontal bar chart of one row's attributions (needs matplotlib); for images,
        the attribution map overlaid on the image, with a colour bar.

        Parameters
        ----------
        row : int
        output : int or str, optional
            By default the row's own (:meth:`shown_output`), as :meth:`to_html` shows.
        max_features : int
        ax : matplotlib Axes, optional
            Drawn into when given; a new figure otherwise.

        Returns
        -------
        matplotlib Axes
        """
        output = self.shown_output(row, output)
        if self.is_image:
            from ..report.image import plot_image_explanation

            return plot_image_explanation(self, row=row, output=output, ax=ax)
        plt = import_optional("matplotlib.pyplot")
        top = self.top_features(row, output, max_features)[::-1]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(top) + 1))
        ax.barh(
            [t[0] for t in top],
            [t[1] for t in top],
            color=["#c0392b" if t[1] > 0 else "#2471a3" for t in top],
        )
        ax.set_xlabel(
            f"{self.method} attribution to {self.output_names[self.output_index(output)]!r}"
        )
        return ax
