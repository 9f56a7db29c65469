"""The served model's steps: images in, digit predictions out (:mod:`.nodes`).

They are not a Kedro pipeline of their own: the served model
(:class:`mnist_pipeline.tracking.served_model.DigitClassifier`) runs them in order for each
request, and ``evaluate`` uses :func:`.nodes.predict_logits` on the test set.
"""
