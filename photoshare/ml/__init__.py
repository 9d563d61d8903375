"""On-device machine learning: labels, "similar photos" embeddings, text in images and faces.

Everything runs offline on the appliance's CPU (onnxruntime, dlib); model files come from installed
packages or from `photoshare models install`, never from the network at run time.
"""
