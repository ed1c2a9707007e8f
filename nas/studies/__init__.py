"""The study machinery every command that trains candidates in an Optuna study shares.

``storage`` opens the database and holds the trial-creation lock (``StudySettings``, the
``study`` settings); ``identity`` is what makes two runs one experiment, versioned; ``study``
creates or resumes a study and tabulates it; ``protocol`` is the one trial protocol; ``loop``
the worker loop; ``job`` what each kind of study supplies; ``run`` runs one (``run_study``);
``workers`` places this worker among those sharing a study; ``references`` finds a study named
on a command line.
"""
