"""KDPhys: camera-based heart rate (rPPG) with a 3D-CNN teacher distilled into a tiny 2D-CNN student.

Five-line use (upload path)::

    from kdphys.pipeline.upload import analyze_video
    result = analyze_video("face.mp4", method="pos")
    reading = result.snapshot.reading       # kdphys.signal.quality.HrReading
    print(reading.describe())               # "71.2 bpm (good), 69-73 bpm, read in 85% of the video"
    per_window = result.snapshot.readings   # a reading or a reason per 10 s window, 1 s apart

Packages in data-flow order: io, face, pipeline, signal, methods, models; beside them data, training,
evaluation, explain (what the app shows), cli, bench. docs/DESIGN.md draws the flow.
"""

__version__ = "0.2.0"
