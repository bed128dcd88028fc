"""The models and their training.

  kinds      one object per model kind: how it is built, its output range, its biases, its fold-in,
             its memory per row and what Diagnostics can show of it
  networks   EmbeddingDot, EmbeddingDotBias, EmbeddingNN (torch nn.Modules)
  config     TrainConfig: every hyperparameter with its bounds, the defaults per data size
  training   fit(), lr_find(), device choice, progress reports
  ranking    the ranking objective: a softmax over all items per user, and nDCG@10 on the validation split
  optim      the optimisers (fused AdamW, lazy AdamW for sparse rows)
  memory     how much memory a training will take, checked before it starts
  baselines  global mean and bias-only baselines on the same split
  presets    named training presets as data (fast.ai lesson 5)
  trained    TrainedModel: a trained (or imported) run's weights and vocabularies in memory
  verdict    whether a run beat its baselines, in plain words, and what to try when it did not

May import: collab_core.data, collab_core.errors, collab_core.settings.
"""
