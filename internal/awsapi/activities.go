package awsapi

import "context"

type createActivityIn struct {
	Name *string `json:"name"`
	Tags []tagIn `json:"tags"`
}

type createActivityOut struct {
	ActivityArn  string `json:"activityArn"`
	CreationDate epoch  `json:"creationDate"`
}

func (a *API) createActivity(ctx context.Context, body []byte) (any, error) {
	var in createActivityIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("name", in.Name, 1, maxName, false)
	tags := checkTags(&c, in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	act, err := a.o.Service.CreateActivity(ctx, *in.Name, tags)
	if err != nil {
		return nil, err
	}
	return createActivityOut{ActivityArn: act.Arn, CreationDate: epoch(act.CreatedAt)}, nil
}

type activityOut struct {
	ActivityArn  string `json:"activityArn"`
	Name         string `json:"name"`
	CreationDate epoch  `json:"creationDate"`
}

func (a *API) describeActivity(ctx context.Context, body []byte) (any, error) {
	arn, _, err := decodeArn(body, "activityArn")
	if err != nil {
		return nil, err
	}
	act, err := a.o.Service.DescribeActivity(ctx, arn)
	if err != nil {
		return nil, err
	}
	return activityOut{ActivityArn: act.Arn, Name: act.Name, CreationDate: epoch(act.CreatedAt)}, nil
}

type listActivitiesOut struct {
	Activities []activityOut `json:"activities"`
	NextToken  string        `json:"nextToken,omitempty"`
}

func (a *API) listActivities(ctx context.Context, body []byte) (any, error) {
	page, err := decodePage(body)
	if err != nil {
		return nil, err
	}
	acts, next, err := a.o.Service.ListActivities(ctx, page)
	if err != nil {
		return nil, err
	}
	out := listActivitiesOut{Activities: make([]activityOut, len(acts)), NextToken: next}
	for i, act := range acts {
		out.Activities[i] = activityOut{ActivityArn: act.Arn, Name: act.Name, CreationDate: epoch(act.CreatedAt)}
	}
	return out, nil
}

func (a *API) deleteActivity(ctx context.Context, body []byte) (any, error) {
	arn, _, err := decodeArn(body, "activityArn")
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.DeleteActivity(ctx, arn); err != nil {
		return nil, err
	}
	return empty{}, nil
}

type getActivityTaskIn struct {
	ActivityArn *string `json:"activityArn"`
	WorkerName  *string `json:"workerName"`
}

type getActivityTaskOut struct {
	TaskToken string `json:"taskToken,omitempty"`
	Input     string `json:"input,omitempty"`
}

func (a *API) getActivityTask(ctx context.Context, body []byte) (any, error) {
	var in getActivityTaskIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("activityArn", in.ActivityArn, 1, maxArn, false)
	c.str("workerName", in.WorkerName, 1, maxName, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(a.polls, cancel)()
	t, err := a.o.Service.GetActivityTask(ctx, *in.ActivityArn, deref(in.WorkerName), a.o.ActivityPoll)
	if err != nil {
		return nil, err
	}
	if t == nil {
		// No task within the poll: AWS answers with no token.
		return getActivityTaskOut{}, nil
	}
	return getActivityTaskOut{TaskToken: t.Token, Input: t.Input}, nil
}

type sendTaskIn struct {
	TaskToken *string `json:"taskToken"`
	Output    *string `json:"output"`
	Error     *string `json:"error"`
	Cause     *string `json:"cause"`
}

func decodeSendTask(body []byte, needOutput bool) (*sendTaskIn, error) {
	var in sendTaskIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("taskToken", in.TaskToken, 1, maxTaskToken, false)
	if needOutput {
		c.reqStr("output", in.Output, 0, maxData, true)
	}
	c.str("error", in.Error, 0, maxError, true)
	c.str("cause", in.Cause, 0, maxCause, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	return &in, nil
}

func (a *API) sendTaskSuccess(ctx context.Context, body []byte) (any, error) {
	in, err := decodeSendTask(body, true)
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.SendTaskSuccess(ctx, *in.TaskToken, *in.Output); err != nil {
		return nil, err
	}
	return empty{}, nil
}

func (a *API) sendTaskFailure(ctx context.Context, body []byte) (any, error) {
	in, err := decodeSendTask(body, false)
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.SendTaskFailure(ctx, *in.TaskToken, in.Error, in.Cause); err != nil {
		return nil, err
	}
	return empty{}, nil
}

func (a *API) sendTaskHeartbeat(ctx context.Context, body []byte) (any, error) {
	in, err := decodeSendTask(body, false)
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.SendTaskHeartbeat(ctx, *in.TaskToken); err != nil {
		return nil, err
	}
	return empty{}, nil
}
