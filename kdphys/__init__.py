"""KDPhys: camera-based heart rate (rPPG) with a 3D-CNN teacher distilled into a tiny 2D-CNN student.

Five-line use (upload path)::

    from kdphys.engine import analyze_video
    result = analyze_video("face.mp4", method="pos")
    print(result.reading.describe())        # "71.2 bpm (good)" or "no reading: no face found"

See docs/DESIGN.md for the data flow and README.md for the CLI and the app.
"""

__version__ = "0.1.0"
