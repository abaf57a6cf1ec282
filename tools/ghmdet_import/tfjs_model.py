"""Writing a ghmdet model directory: TF.js's weights format with ghmdet's metadata, the files `loadRetinaNet`
reads in Node (`nodeFileHandler`) and in a browser (`tf.io.http('.../model.json')`).

  model.json   {format: 'ghmdet-retinanet', modelTopology: null, weightsManifest: [{paths: ['./weights.bin'],
                weights: [{name, shape, dtype: 'float32'}, ...]}], userDefinedMetadata: {ghmdet: {formatVersion: 1,
                config, categories, source, weights}}}
  weights.bin  the tensors in manifest order, float32 little-endian, concatenated
"""
import json
import os

MODEL_FORMAT = "ghmdet-retinanet"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS_BIN = "weights.bin"


def write_model_dir(out_dir, named_arrays, config, categories, source, weights_scope):
    """Writes `out_dir`/model.json and weights.bin. `named_arrays`: [(ghmdet name, float32 array)]."""
    import numpy as np

    os.makedirs(out_dir, exist_ok=True)
    specs = []
    with open(os.path.join(out_dir, WEIGHTS_BIN), "wb") as f:
        for name, a in named_arrays:
            data = np.ascontiguousarray(a, dtype="<f4")
            f.write(data.tobytes())
            specs.append({"name": name, "shape": [int(d) for d in data.shape], "dtype": "float32"})
    model = {
        "format": MODEL_FORMAT,
        "generatedBy": "ghmdet tools/torch_to_ghmdet.py",
        "convertedBy": f"{source['framework']} {source['arch']}",
        "modelTopology": None,
        "weightsManifest": [{"paths": [f"./{WEIGHTS_BIN}"], "weights": specs}],
        "userDefinedMetadata": {
            "ghmdet": {
                "formatVersion": FORMAT_VERSION,
                "config": config,
                "categories": categories,
                "source": source,
                "weights": weights_scope,
            }
        },
    }
    with open(os.path.join(out_dir, MODEL_JSON), "w", encoding="utf-8") as f:
        json.dump(model, f)
        f.write("\n")
