"""The NeuroAI bridge: connectome and motif constraints as recurrent-network experiments
(:mod:`.masks`, :mod:`.tasks`, :mod:`.model`, :mod:`.experiment`, :mod:`.stats`), and
the ``rnn_experiment`` job kind (:mod:`.job`) whose trained networks can be stored as
datasets and compared with connectomes."""
