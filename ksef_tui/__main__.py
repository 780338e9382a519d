from ksef_tui.cli import main

raise SystemExit(main())
