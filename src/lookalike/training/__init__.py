"""The recipe behind the default ``embed`` model and ``lookalike train``.

Self-supervised copy detection in the manner of SSCD (Pizzi et al., CVPR 2022): every
training picture is its own class; each step draws a batch of pictures, renders two
edited views of each (the edits mirror the attack suite: crops, pastes, borders,
rotations, recompression, colour), and trains a small CNN so that the two views of one
picture are nearer than any view of another (InfoNCE), while a KoLeo term spreads the
descriptors over the sphere. The network is exported to ONNX and run by onnxruntime
(lookalike.methods.embed); torch is needed only to train (``pip install
'lookalike[train]'``).

Modules: :mod:`.network` (the CNN and its export), :mod:`.augment` (the batched edits, on
the GPU when there is one), :mod:`.synthetic` (pictures the recipe draws itself),
:mod:`.data` (folders of images into one tensor), :mod:`.loop` (the training loop).
"""
