"""Skin metrics on the skin pixels inside a face.

One metric pipeline, two backends: ``BasicOps`` needs only numpy (the analyzer
that always works) and ``EnhancedOps`` uses OpenCV (CIE Lab colour, fast
filters, connected components) with parameters from the
``analyzer-params`` model artifact. Keeping a single pipeline means the two
analyzers report the same metrics with the same meaning, and tests check both.

All scores are 0-100; ``spot_count`` is a count. Higher redness, texture, shine
and spot_count mean more of that; higher ``tone_evenness`` means more even.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# Used when the analyzer-params artifact is unavailable (basic mode). The
# artifact ships the same keys; values there may be tuned per version.
DEFAULT_PARAMS: dict[str, Any] = {
    "version": "builtin",
    "detection": {"max_side": 640, "scale_factor": 1.1, "min_neighbors": 4, "min_face_fraction": 0.08},
    "crop_side": 256,
    "skin": {"cr_min": 133, "cr_max": 173, "cb_min": 77, "cb_max": 127, "y_min": 40},
    "redness": {"basic_lo": 0.05, "basic_hi": 0.35, "lab_lo": 5.0, "lab_hi": 35.0},
    "tone": {"smooth_frac": 0.06, "coarse_frac": 0.3, "std_max": 60.0},
    "texture": {"mean_max": 12.0},
    "shine": {"delta": 30.0, "chroma_max": 0.25, "frac_max": 0.1, "fill_frac": 0.12},
    "spots": {"background_frac": 0.12, "delta": 14.0, "min_area": 3, "max_side_frac": 0.05},
}


class Ops(Protocol):
    name: str

    def luminance(self, rgb: np.ndarray) -> np.ndarray: ...

    def redness(self, rgb: np.ndarray, mask: np.ndarray, params: dict[str, Any]) -> float: ...

    def blur(self, img: np.ndarray, size: int) -> np.ndarray: ...

    def count_blobs(self, mask: np.ndarray, min_area: int, max_side: int) -> int: ...

    def resize(self, rgb: np.ndarray, width: int, height: int) -> np.ndarray: ...


def _box_blur(img: np.ndarray, size: int) -> np.ndarray:
    """Mean filter of odd ``size`` via an integral image, edges replicated."""
    size = max(1, size | 1)
    if size == 1:
        return img.astype(np.float32)
    r = size // 2
    padded = np.pad(img.astype(np.float64), r, mode="edge")
    s = np.cumsum(np.cumsum(padded, axis=0), axis=1)
    s = np.pad(s, ((1, 0), (1, 0)))
    h, w = img.shape
    total = s[size : size + h, size : size + w] - s[:h, size : size + w] - s[size : size + h, :w] + s[:h, :w]
    return (total / (size * size)).astype(np.float32)


class BasicOps:
    """numpy only: YCbCr luma, a red/green ratio for redness, box filters."""

    name = "basic"

    def luminance(self, rgb: np.ndarray) -> np.ndarray:
        f = rgb.astype(np.float32)
        return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]

    def redness(self, rgb: np.ndarray, mask: np.ndarray, params: dict[str, Any]) -> float:
        r = rgb[..., 0][mask].astype(np.float32)
        g = rgb[..., 1][mask].astype(np.float32)
        ratio = float(np.mean((r - g) / (r + g + 1.0)))
        return _scale(ratio, params["redness"]["basic_lo"], params["redness"]["basic_hi"])

    def blur(self, img: np.ndarray, size: int) -> np.ndarray:
        return _box_blur(img, size)

    def count_blobs(self, mask: np.ndarray, min_area: int, max_side: int) -> int:
        # 8-connected flood fill; dark pixels are a small share of the face at
        # the 256 px working size, so visiting only them in Python is fast enough.
        seen = np.zeros_like(mask, dtype=bool)
        h, w = mask.shape
        count = 0
        for y0, x0 in zip(*np.nonzero(mask), strict=True):
            if seen[y0, x0]:
                continue
            seen[y0, x0] = True
            area, queue = 0, deque([(y0, x0)])
            top, bottom, left, right = y0, y0, x0, x0
            while queue:
                y, x = queue.popleft()
                area += 1
                top, bottom, left, right = min(top, y), max(bottom, y), min(left, x), max(right, x)
                for ny in (y - 1, y, y + 1):
                    for nx in (x - 1, x, x + 1):
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            queue.append((ny, nx))
            count += _is_spot(area, bottom - top + 1, right - left + 1, min_area, max_side)
        return count

    def resize(self, rgb: np.ndarray, width: int, height: int) -> np.ndarray:
        # Nearest-neighbour sampling: crude but dependency-free.
        ys = (np.arange(height) * rgb.shape[0] / height).astype(np.intp)
        xs = (np.arange(width) * rgb.shape[1] / width).astype(np.intp)
        return rgb[ys][:, xs]


class EnhancedOps:
    """OpenCV: CIE Lab lightness and a*, fast filters, connected components."""

    name = "enhanced"

    def __init__(self, cv2: Any) -> None:
        self.cv2 = cv2

    def luminance(self, rgb: np.ndarray) -> np.ndarray:
        lab = self.cv2.cvtColor(np.ascontiguousarray(rgb), self.cv2.COLOR_RGB2LAB)
        return lab[..., 0].astype(np.float32)

    def redness(self, rgb: np.ndarray, mask: np.ndarray, params: dict[str, Any]) -> float:
        lab = self.cv2.cvtColor(np.ascontiguousarray(rgb), self.cv2.COLOR_RGB2LAB)
        a_star = float(np.mean(lab[..., 1][mask].astype(np.float32))) - 128.0
        return _scale(a_star, params["redness"]["lab_lo"], params["redness"]["lab_hi"])

    def blur(self, img: np.ndarray, size: int) -> np.ndarray:
        # A box filter like BasicOps, so both analyzers share one meaning of
        # "size"; OpenCV's is just much faster than the integral image.
        size = max(1, size | 1)
        return self.cv2.blur(img.astype(np.float32), (size, size), borderType=self.cv2.BORDER_REPLICATE)

    def count_blobs(self, mask: np.ndarray, min_area: int, max_side: int) -> int:
        cv2 = self.cv2
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        return sum(
            _is_spot(
                int(st[cv2.CC_STAT_AREA]), int(st[cv2.CC_STAT_HEIGHT]), int(st[cv2.CC_STAT_WIDTH]), min_area, max_side
            )
            for st in stats[1:n]
        )

    def resize(self, rgb: np.ndarray, width: int, height: int) -> np.ndarray:
        return self.cv2.resize(rgb, (width, height), interpolation=self.cv2.INTER_AREA)


def _is_spot(area: int, height: int, width: int, min_area: int, max_side: int) -> bool:
    """Spots are small and roundish; brows, lash lines and wrinkles are long."""
    if area < min_area or max(height, width) > max_side:
        return False
    aspect = max(height, width) / min(height, width)
    return aspect <= 2.5 and area / (height * width) >= 0.35


def _scale(value: float, lo: float, hi: float) -> float:
    return round(float(np.clip((value - lo) / (hi - lo), 0.0, 1.0)) * 100.0, 1)


def skin_mask(rgb: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Classic YCbCr skin thresholds (Chai & Ngan), done in numpy for both backends."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr = (r - y) * 0.713 + 128.0
    cb = (b - y) * 0.564 + 128.0
    s = params["skin"]
    return (cr >= s["cr_min"]) & (cr <= s["cr_max"]) & (cb >= s["cb_min"]) & (cb <= s["cb_max"]) & (y >= s["y_min"])


def face_ellipse(height: int, width: int) -> np.ndarray:
    """Elliptical mask inscribed in the face box: drops hair and background corners."""
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = height / 2.0, width / 2.0
    return ((yy - cy) / (0.5 * height)) ** 2 + ((xx - cx) / (0.42 * width)) ** 2 <= 1.0


def compute_metrics(
    rgb: np.ndarray, ops: Ops, params: dict[str, Any], region_mask: np.ndarray | None = None
) -> dict[str, Any]:
    """Metrics over the skin pixels of ``rgb`` (already cropped to the face)."""
    side = int(params["crop_side"])
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale < 1.0:
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        rgb = ops.resize(rgb, nw, nh)
        if region_mask is not None:
            region_mask = BasicOps().resize(region_mask, nw, nh)
    h, w = rgb.shape[:2]

    mask = skin_mask(rgb, params)
    if region_mask is not None:
        mask &= region_mask
    skin_fraction = float(mask.mean()) if mask.size else 0.0
    notes: list[str] = []
    if mask.sum() < 0.05 * h * w or mask.sum() < 50:
        # Odd lighting or make-up can defeat colour thresholds; measure the
        # face region anyway rather than return nothing, and say so.
        notes.append("low skin coverage: metrics use the whole region")
        mask = region_mask.copy() if region_mask is not None else np.ones((h, w), dtype=bool)

    lum = ops.luminance(rgb)
    small = ops.blur(lum, 3)
    smooth = ops.blur(lum, max(3, int(params["tone"]["smooth_frac"] * max(h, w))))
    coarse = ops.blur(lum, max(5, int(params["tone"]["coarse_frac"] * max(h, w))))
    background = ops.blur(lum, max(5, int(params["spots"]["background_frac"] * max(h, w))))
    # "Interior" skin: mostly surrounded by skin, so dark features bordered by
    # non-skin (eyes, nostrils, eyebrows) are not counted as spots. "Filled"
    # skin also takes in small enclosed holes: specular highlights are near
    # white, outside the skin colour range, yet they are what shine measures.
    interior = ops.blur(mask.astype(np.float32), 15) > 0.8
    fill_size = max(5, int(params["shine"]["fill_frac"] * max(h, w)))
    filled = mask | (ops.blur(mask.astype(np.float32), fill_size) > 0.5)
    if region_mask is not None:
        filled &= region_mask

    # Band-pass (medium minus coarse blur): blotches count, the face's 3D
    # shading and lighting gradients do not.
    tone_std = float(np.std((smooth - coarse)[mask]))
    texture_mean = float(np.mean(np.abs(lum - small)[mask]))

    f = rgb.astype(np.float32)
    mx, mn = f.max(axis=2), f.min(axis=2)
    chroma = (mx - mn) / (mx + 1.0)
    sp = params["shine"]
    highlight = (lum > smooth + sp["delta"]) | ((lum > 235) & (chroma < sp["chroma_max"]))
    shine_frac = float(np.mean(highlight[filled]))

    s = params["spots"]
    dark = (lum < background - s["delta"]) & interior
    max_side = max(3, int(s["max_side_frac"] * max(h, w)))
    spots = ops.count_blobs(dark, int(s["min_area"]), max_side)

    return {
        "redness": ops.redness(rgb, mask, params),
        # Log scale: the spread runs from ~0 (flat) to tens of grey levels on
        # real faces, and differences among small spreads matter most.
        "tone_evenness": round(
            100.0 * (1.0 - min(float(np.log1p(tone_std) / np.log1p(params["tone"]["std_max"])), 1.0)), 1
        ),
        "texture": round(100.0 * min(texture_mean / params["texture"]["mean_max"], 1.0), 1),
        "shine": round(100.0 * min(shine_frac / sp["frac_max"], 1.0), 1),
        "spot_count": int(spots),
        "skin_fraction": round(skin_fraction, 3),
        "notes": notes,
    }


@dataclass
class Face:
    x: int
    y: int
    width: int
    height: int

    def as_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


def detect_faces(gray_detector: Any, cv2: Any, rgb: np.ndarray, params: dict[str, Any]) -> list[Face]:
    """Run the cascade on a downscaled grey image; boxes in ``rgb`` coordinates."""
    d = params["detection"]
    h, w = rgb.shape[:2]
    scale = min(1.0, d["max_side"] / max(h, w))
    small = rgb if scale >= 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    min_side = max(20, int(d["min_face_fraction"] * min(gray.shape)))
    boxes = gray_detector.detectMultiScale(
        gray, scaleFactor=d["scale_factor"], minNeighbors=d["min_neighbors"], minSize=(min_side, min_side)
    )
    faces = [Face(*(round(float(v) / scale) for v in box)) for box in boxes]
    faces.sort(key=lambda f: f.width * f.height, reverse=True)
    return faces


def analyze(
    rgb: np.ndarray,
    ops: Ops,
    params: dict[str, Any],
    detector: Any = None,
    cv2: Any = None,
) -> dict[str, Any]:
    """Detect faces (when a detector is available) and measure the largest one."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    faces: list[Face] = []
    if detector is not None and cv2 is not None:
        faces = detect_faces(detector, cv2, rgb, params)
    timings["detect_ms"] = round((time.perf_counter() - t0) * 1000, 2)

    t1 = time.perf_counter()
    if faces:
        f = faces[0]
        crop = rgb[f.y : f.y + f.height, f.x : f.x + f.width]
        region = face_ellipse(*crop.shape[:2])
        metrics = compute_metrics(crop, ops, params, region)
        region_name = "face"
    else:
        metrics = compute_metrics(rgb, ops, params)
        region_name = "frame"
    timings["metrics_ms"] = round((time.perf_counter() - t1) * 1000, 2)
    notes = metrics.pop("notes")
    if not faces:
        why = "no face detected" if detector is not None else "face detection unavailable"
        notes.insert(0, f"{why}: metrics use skin pixels of the whole frame")
    return {
        "faces": [f.as_dict() for f in faces],
        "region": region_name,
        "metrics": metrics,
        "notes": notes,
        "timings_ms": timings,
    }
