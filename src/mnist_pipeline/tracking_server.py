"""``python -m mnist_pipeline.tracking_server add-member|add-reader NAME``: the team server's
admin command (docs, "Setting up the server"); it lives in :mod:`.tracking.team_server`."""

from mnist_pipeline.tracking.team_server import main

if __name__ == "__main__":
    main()
