"""International land borders around Peru, from real boundary data shipped inside the package.

The data file ``centinela/data/borders_peru.geojson`` is an extract of Natural Earth's 1:10m admin-0
countries (version 4.1.0, public domain) as redistributed by the npm package ``world-atlas`` 2.0.2 (ISC
licence, quantized TopoJSON: about 400 m east–west and 190 m north–south resolution). It holds two kinds of
feature:

- ``kind = "country"``: the polygon of Peru and of each neighbour (Bolivia, Brazil, Colombia, Ecuador,
  Chile), clipped to :data:`REGION_BBOX` so that far-away coasts do not weigh on the package;
- ``kind = "border"``: the land border shared by a pair of those countries (the TopoJSON arcs the two
  polygons have in common), as a MultiLineString.

Nothing is downloaded at run time. To rebuild the file from the npm package::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m centinela.geo.borders package/countries-10m.json

>>> borders = Borders.default()
>>> borders.country_of([-12.5, -16.5, -9.0], [-73.8, -65.0, -60.0]).tolist()
['PER', 'BOL', 'BRA']
>>> round(borders.border("PER", "BOL").length, 1) > 5.0   # degrees of line
True
"""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, box, mapping, shape

DATA_FILE = "borders_peru.geojson"
# lon_min, lat_min, lon_max, lat_max: Peru and the Bolivian lowlands with a margin of a few hundred km;
# outside it country_of answers "" (unknown) and no crossing is reported.
REGION_BBOX = (-82.0, -25.0, -56.0, 2.0)
# ISO 3166-1 numeric (world-atlas feature ids) to alpha-3 for the countries we keep.
COUNTRY_CODES = {"604": "PER", "068": "BOL", "076": "BRA", "170": "COL", "218": "ECU", "152": "CHL"}
SOURCE = (
    "Natural Earth 1:10m admin-0 countries v4.1.0 (public domain), via the npm package world-atlas 2.0.2 "
    "(ISC licence, countries-10m.json); extracted by centinela.geo.borders"
)


class Borders:
    """Country polygons and the land borders between them, in WGS84 degrees (shapely x = lon, y = lat)."""

    def __init__(self, countries: dict[str, MultiPolygon], borders: dict[frozenset, MultiLineString]):
        self.countries = countries
        self._borders = borders
        for polygon in countries.values():
            shapely.prepare(polygon)

    @classmethod
    def default(cls) -> Borders:
        """The borders shipped with the package (loaded once)."""
        return _default_borders()

    @classmethod
    def from_geojson(cls, text: str) -> Borders:
        data = json.loads(text)
        countries, borders = {}, {}
        for feature in data["features"]:
            props, geom = feature["properties"], shape(feature["geometry"])
            if props["kind"] == "country":
                countries[props["iso3"]] = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
            elif props["kind"] == "border":
                borders[frozenset(props["countries"])] = geom
        return cls(countries, borders)

    def border(self, a: str, b: str) -> MultiLineString | None:
        """The land border between countries ``a`` and ``b`` (alpha-3), or None when they do not touch."""
        return self._borders.get(frozenset((a, b)))

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted(tuple(sorted(p)) for p in self._borders)

    def country_of(self, lat, lon) -> np.ndarray:
        """Alpha-3 code of the country under each point ("" outside every kept country). Vectorised."""
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        out = np.full(lat.shape, "", dtype=object)
        for code, polygon in self.countries.items():
            xmin, ymin, xmax, ymax = polygon.bounds
            near = (lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax) & (out == "")
            if near.any():
                inside = shapely.contains_xy(polygon, lon[near], lat[near])
                idx = np.flatnonzero(near)[inside]
                out[idx] = code
        return out

    def crossing_point(self, a: str, b: str, lat1: float, lon1: float, lat2: float, lon2: float):
        """Where the straight segment from point 1 to point 2 meets the a–b border: (fraction along the
        segment, lat, lon), or None when it does not meet it."""
        line = self.border(a, b)
        if line is None:
            return None
        segment = LineString([(lon1, lat1), (lon2, lat2)])
        hit = segment.intersection(line)
        if hit.is_empty:
            return None
        # The first meeting point along the segment (a zig-zag border can be met several times).
        points = [p for p in getattr(hit, "geoms", [hit])]
        fractions = [segment.project(p.centroid, normalized=True) for p in points]
        k = int(np.argmin(fractions))
        point = points[k].centroid
        return float(fractions[k]), float(point.y), float(point.x)


@lru_cache(maxsize=1)
def _default_borders() -> Borders:
    text = resources.files("centinela").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return Borders.from_geojson(text)


# --- regeneration from world-atlas (run by hand, never at analysis time) ---------------------------------
def _decode_arcs(topology: dict) -> list[np.ndarray]:
    """TopoJSON quantized, delta-encoded arcs to arrays of (lon, lat)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        q = np.cumsum(np.asarray(arc, float), axis=0)
        arcs.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))
    return arcs


def _ring(arcs: list[np.ndarray], indices: list[int]) -> np.ndarray:
    # A negative index ~i means arc i reversed; consecutive arcs share their joining point.
    parts = [arcs[i] if i >= 0 else arcs[~i][::-1] for i in indices]
    return np.vstack([parts[0]] + [p[1:] for p in parts[1:]])


def _polygons(geometry: dict) -> list[list[list[int]]]:
    return [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]


def build_geojson(topology: dict) -> dict:
    """The package's border extract from world-atlas ``countries-10m.json`` (already parsed)."""
    arcs = _decode_arcs(topology)
    geometries = {g["id"]: g for g in topology["objects"]["countries"]["geometries"] if g.get("id") in COUNTRY_CODES}
    region = box(*REGION_BBOX)
    features, arc_sets = [], {}
    for numeric, iso3 in COUNTRY_CODES.items():
        g = geometries[numeric]
        polygon = MultiPolygon([Polygon(_ring(arcs, p[0]), [_ring(arcs, h) for h in p[1:]]) for p in _polygons(g)])
        clipped = shapely.make_valid(polygon).intersection(region)
        clipped = shapely.set_precision(clipped, 1e-5)
        features.append({"type": "Feature", "properties": {"kind": "country", "iso3": iso3,
                                                          "name": g["properties"]["name"]},
                         "geometry": mapping(clipped)})
        arc_sets[iso3] = {i if i >= 0 else ~i for p in _polygons(g) for ring in p for i in ring}
    codes = list(COUNTRY_CODES.values())
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            shared = sorted(arc_sets[a] & arc_sets[b])
            if shared:
                line = shapely.line_merge(MultiLineString([arcs[k] for k in shared]))
                line = shapely.set_precision(line, 1e-5)
                features.append({"type": "Feature", "properties": {"kind": "border", "countries": [a, b]},
                                 "geometry": mapping(line)})
    return {"type": "FeatureCollection", "source": SOURCE, "licence": "public domain (Natural Earth)",
            "features": features}


def main(argv: list[str] | None = None) -> None:
    """``python -m centinela.geo.borders COUNTRIES_10M_JSON [OUT]``: rebuild the packaged extract."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: python -m centinela.geo.borders path/to/world-atlas/countries-10m.json [OUT]")
    topology = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    out = Path(args[1]) if len(args) > 1 else Path(str(resources.files("centinela").joinpath("data", DATA_FILE)))
    out.write_text(json.dumps(build_geojson(topology), separators=(",", ":")), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
