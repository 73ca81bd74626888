"""``python -m dfaudio`` entry point."""

from dfaudio.cli.main import main

if __name__ == "__main__":  # pragma: no cover
    main()
